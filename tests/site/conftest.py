"""The crisis fixtures serve the web server's tests too (test_asgi_server.py)."""

from tests.crises.conftest import crisis_settings, crisis_worker  # noqa: F401
