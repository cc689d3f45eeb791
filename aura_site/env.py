"""Typed readers for environment variables; an empty variable counts as unset."""

import ipaddress
import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name).strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = env_str(name).strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE = re.compile(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)")
_OFF = {"off", "none", "0"}


def env_rate(name: str, default: str | None) -> str | None:
    """Return a throttle rate such as `120/min`, or None when the variable says `off`."""
    raw = env_str(name).strip().lower()
    if not raw:
        return default
    if raw in _OFF:
        return None
    if not _RATE.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 120/min (per s, min, hour or day) or off, not {raw!r}."
        )
    return raw


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def env_networks(name: str, default: list[str]) -> list[Network]:
    """Return a comma-separated list of networks (CIDRs or single addresses)."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list networks such as 10.0.0.0/8 or ::1, not {item!r}."
            ) from None
    return networks


def origin(url: str) -> str:
    """Return the origin (`scheme://host[:port]`) of `url`, or "" when it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def env_origins(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list of browser origins such as `https://ui.example.com`."""
    origins = []
    for item in env_list(name, default):
        normalized = origin(item)
        if not normalized or normalized != item.lower().rstrip("/"):
            raise ImproperlyConfigured(
                f"{name} must list origins such as https://temporal.example.com:8233 "
                f"(scheme, host and port only), not {item!r}."
            )
        origins.append(normalized)
    return origins


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """Return one of `choices` (case-insensitive), or `default` when the variable is unset."""
    raw = env_str(name).strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return raw
