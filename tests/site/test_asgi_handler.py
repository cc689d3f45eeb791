"""Which path the ASGI handler serves a request by (aura_site/asgi_handler.py)."""

import threading
from typing import Any

from django.core.signals import request_finished, request_started

from aura_site.asgi_handler import AuraASGIHandler, _has_sync_view, _path_info


def test_sync_views_take_the_one_hop_chain_and_long_polls_the_async_one() -> None:
    assert _has_sync_view("/api/v1/crises/")
    assert _has_sync_view("/api/v1/crises/crisis-a-1/")
    # The long-poll awaits Temporal on the event loop: it must keep the async chain.
    assert not _has_sync_view("/api/v1/crises/crisis-a-1/wait/")
    # No view (static files, 404s): the async chain, whitenoise's async serving included.
    assert not _has_sync_view("/static/no-such-file.css")
    assert not _has_sync_view("/no/such/page/")


def test_the_path_is_read_below_the_script_prefix() -> None:
    assert _path_info({"path": "/aura/api/v1/crises/", "root_path": "/aura"}) == "/api/v1/crises/"
    assert _path_info({"path": "/api/v1/crises/", "root_path": ""}) == "/api/v1/crises/"


async def asgi_get(path: str) -> tuple[int, bytes]:
    """GET `path` from a new handler as an ASGI server would; return the status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await AuraASGIHandler()(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return messages[0]["status"], body


async def test_a_sync_view_is_served_in_one_thread_that_also_finishes_the_request() -> None:
    seen: list[tuple[str, int]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        status, body = await asgi_get("/api/v1/crises/")
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert status == 401, body  # the API's answer to no credentials: the view ran
    assert [name for name, _ in seen] == ["started", "finished"]
    threads = {thread for _, thread in seen}
    assert len(threads) == 1 and threading.get_ident() not in threads
