"""The audit admin is read-only for everyone, superusers included."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    return record_event(
        subject_kind="crisis", subject_id="crisis-alpha-1", event_type="crisis_triggered"
    )


def test_superuser_can_list_and_view(admin_client: Client, event: AuditEvent) -> None:
    listing = admin_client.get("/admin/audit/auditevent/")
    assert listing.status_code == 200
    assert b"crisis-alpha-1" in listing.content
    assert b"Add audit event" not in listing.content

    detail = admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert event.hash.encode() in detail.content


def test_superuser_cannot_add_change_or_delete(admin_client: Client, event: AuditEvent) -> None:
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    response = admin_client.post(
        f"/admin/audit/auditevent/{event.pk}/change/", {"event_type": "forged"}
    )
    assert response.status_code == 403
    response = admin_client.post(
        "/admin/audit/auditevent/",
        {"action": "delete_selected", "_selected_action": [str(event.pk)], "post": "yes"},
    )
    assert AuditEvent.objects.filter(event_type="crisis_triggered").count() == 1


def test_search_and_filters(admin_client: Client, event: AuditEvent) -> None:
    record_event(subject_kind="epoch", subject_id="epoch-9", event_type="phase_transition")
    response = admin_client.get("/admin/audit/auditevent/?subject_kind=epoch")
    assert b"epoch-9" in response.content
    assert b"crisis-alpha-1" not in response.content
    response = admin_client.get("/admin/audit/auditevent/?q=alpha")
    assert b"crisis-alpha-1" in response.content
    assert b"epoch-9" not in response.content


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_audit_admin_in_a_browser(admin_page, live_server, screenshot) -> None:
    record_event(subject_kind="crisis", subject_id="crisis-beta-7", event_type="crisis_triggered")
    admin_page.goto(f"{live_server.url}/admin/audit/auditevent/")
    admin_page.get_by_text("crisis-beta-7").wait_for()
    screenshot("list")
    assert admin_page.locator("#content-main .object-tools a.addlink").count() == 0
    admin_page.locator("#result_list tbody tr th a").first.click()
    admin_page.get_by_text("crisis_triggered").first.wait_for()
    screenshot("detail")
    assert admin_page.locator("input[name=_save]").count() == 0
    assert admin_page.locator("a.deletelink").count() == 0
