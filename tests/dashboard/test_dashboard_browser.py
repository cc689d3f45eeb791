"""The dashboard in a real browser: every panel with data, Temporal down, one permission."""

import pytest

from aura_site import temporal
from tests.conftest import user_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_panel_with_data(admin_page, live_server, records, worker_thread, screenshot):
    admin_page.goto(f"{live_server.url}/admin/")
    screenshot("dashboard")
    titles = admin_page.locator("#dashboard section h2").all_inner_texts()
    assert [title.lower() for title in titles] == [
        "crises by status",
        "epochs by status",
        "crises per hour",
        "epochs by phase",
        "latest failed crises",
        "latest failed epochs",
        "running crises",
        "running epochs",
        "waiting to start",
        "task queues",
        "audit chain",
    ]
    assert admin_page.locator("svg.chart-hourly rect").count() > 0
    assert admin_page.get_by_role("img", name="Crises per hour, last 24 hours (UTC)").is_visible()
    assert "agent down" in admin_page.inner_text("#panel-crisis-failures")
    assert admin_page.locator("#panel-crisis-failures script").count() == 0
    queues = admin_page.locator(f'#panel-task-queues tr[data-queue="{worker_thread}-crisis"]')
    assert queues.count() == 2 and "none" not in queues.first.inner_text()
    admin_page.click("#panel-crisis-running a:text('crisis-run-1')")
    admin_page.wait_for_url(f"**/admin/crises/crisis/{records['running'].pk}/change/")


def test_temporal_down(admin_page, live_server, records, settings, screenshot):
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    temporal.set_client(None)
    admin_page.goto(f"{live_server.url}/admin/")
    screenshot("temporal-down")
    assert "cannot be reached" in admin_page.inner_text("#panel-task-queues")
    assert admin_page.locator("#panel-crisis-counts").is_visible()
    temporal.set_client(None)


def test_one_view_permission(page, live_server, records, settings, screenshot):
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    temporal.set_client(None)
    user_with("viewer", "epochs.view_epoch", is_staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    screenshot("epochs-only")
    keys = page.locator("#dashboard section").evaluate_all("nodes => nodes.map(n => n.id)")
    assert keys == [
        "panel-epoch-counts",
        "panel-epoch-phases",
        "panel-epoch-failures",
        "panel-epoch-running",
        "panel-pending-starts",
        "panel-task-queues",
    ]
    assert "e-wait" in page.inner_text("#panel-pending-starts")
    assert "crisis-wait-1" not in page.inner_text("#panel-pending-starts")
    temporal.set_client(None)
