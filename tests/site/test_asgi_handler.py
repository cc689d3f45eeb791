"""Which middleware chain the ASGI handler runs a request through (aura_site/asgi_handler.py)."""

from django.test import RequestFactory

from aura_site.asgi_handler import _has_sync_view


def test_sync_views_take_the_one_hop_chain_and_long_polls_the_async_one() -> None:
    factory = RequestFactory()
    assert _has_sync_view(factory.post("/api/v1/crises/"))
    assert _has_sync_view(factory.get("/api/v1/crises/crisis-a-1/"))
    # The long-poll awaits Temporal on the event loop: it must keep the async chain.
    assert not _has_sync_view(factory.get("/api/v1/crises/crisis-a-1/wait/"))
    # No view (static files, 404s): the async chain, whitenoise's async serving included.
    assert not _has_sync_view(factory.get("/static/no-such-file.css"))
    assert not _has_sync_view(factory.get("/no/such/page/"))
