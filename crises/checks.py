"""System checks for the crisis settings: misconfiguration shows at startup, not mid-crisis."""

from django.conf import settings
from django.core.checks import Error, register

from crises.agents import DISPATCHERS, parse_script


@register()
def check_agent_dispatcher(app_configs, **kwargs) -> list[Error]:
    errors = []
    kind = settings.CRISIS_AGENT_DISPATCHER
    if kind not in DISPATCHERS:
        errors.append(
            Error(
                f"CRISIS_AGENT_DISPATCHER is {kind!r}.",
                hint=f"Use one of: {', '.join(DISPATCHERS)}.",
                id="crises.E001",
            )
        )
    if kind == "http" and not settings.CRISIS_AGENT_URL:
        errors.append(
            Error(
                "CRISIS_AGENT_DISPATCHER=http but CRISIS_AGENT_URL is empty.",
                hint="Set CRISIS_AGENT_URL to the agent endpoint that receives missions.",
                id="crises.E002",
            )
        )
    if kind == "scripted":
        try:
            parse_script(settings.CRISIS_AGENT_SCRIPT)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            errors.append(Error(str(exc), id="crises.E003"))
    if settings.CRISIS_AGENT_TIMEOUT <= 0:
        errors.append(Error("CRISIS_AGENT_TIMEOUT must be positive.", id="crises.E004"))
    return errors
