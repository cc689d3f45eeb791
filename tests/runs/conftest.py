"""The crisis fixtures serve the durable-start tests too."""

from tests.crises.conftest import crisis_settings, crisis_worker  # noqa: F401
