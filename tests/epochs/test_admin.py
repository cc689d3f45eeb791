"""The epoch admin: list with progress bar, start page, detail page and its moves."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from epochs.models import Epoch, EpochTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_epoch() -> Epoch:
    epoch = Epoch.objects.create(
        epoch_id="e-closed", current_phase="p4", status="failed", request_description="old"
    )
    EpochTransition.objects.create(
        epoch=epoch,
        index=0,
        from_phase="p1",
        to_phase="p3",
        success=False,
        condition_met="FAILED: not in the table",
        occurred_at="2026-04-01T12:00:00Z",
    )
    return epoch


def test_list_shows_the_progress_bar_and_filters(admin_client: Client, closed_epoch) -> None:
    Epoch.objects.create(epoch_id="e-done", current_phase="complete", status="complete")
    response = admin_client.get("/admin/epochs/epoch/")
    html = response.content.decode()
    assert response.status_code == 200
    bars = re.findall(r'<span class="epoch-progress".*?</span></span>', html)
    assert len(bars) == 2
    assert bars[0].count('class="step done"') == 12  # newest first: the complete one
    assert bars[1].count('class="step done"') == 3 and 'class="step current"' in bars[1]
    filtered = admin_client.get("/admin/epochs/epoch/?phase=p4").content.decode()
    assert "e-closed" in filtered and "e-done" not in filtered
    assert "e-done" in admin_client.get("/admin/epochs/epoch/?status=complete").content.decode()


def test_detail_of_a_closed_epoch_shows_its_records(admin_client: Client, closed_epoch) -> None:
    html = admin_client.get(f"/admin/epochs/epoch/{closed_epoch.pk}/change/").content.decode()
    assert 'id="timeline"' in html and "refused" in html and "FAILED: not in the table" in html
    assert "Advance to" not in html  # no live workflow, no moves


def test_moves_need_post_and_permission(closed_epoch) -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_epoch"))
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/admin/epochs/epoch/{closed_epoch.pk}/change/").status_code == 200
    for move in ["advance", "vote", "blocker"]:
        url = f"/admin/epochs/epoch/{closed_epoch.pk}/{move}/"
        assert client.post(url, {"to_phase": "p5"}).status_code == 403
    assert client.get("/admin/epochs/epoch/add/").status_code == 403


def test_start_page_validates(admin_client: Client) -> None:
    response = admin_client.post("/admin/epochs/epoch/add/", {"epoch_id": "bad id"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html and "Enter a valid value." in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_epoch_admin_in_a_browser(admin_page, live_server, worker_thread, screenshot) -> None:
    page = admin_page
    page.goto(f"{live_server.url}/admin/epochs/epoch/add/")
    page.fill("#id_epoch_id", "browser-epoch")
    page.fill("#id_request_description", "Add a dark mode toggle")
    page.click("#start-epoch input[type=submit]")
    page.get_by_text("Epoch browser-epoch started.").wait_for()
    screenshot("started")
    assert page.inner_text("#epoch-phase") == "p1"

    for phase in ["p2", "p3", "p4"]:
        page.click(f"button:has-text('Advance to {phase}')")
        page.get_by_text(f"Advanced to {phase}.").wait_for()
    assert page.inner_text("#epoch-phase") == "p4"
    page.select_option("#vote-form select[name=axis]", "correctness")
    page.select_option("#vote-form select[name=vote]", "REVISE")
    page.click("#vote-form button")
    page.get_by_text("Voted REVISE on correctness.").wait_for()
    assert page.locator("#transitions-available button").all_inner_texts() == ["Advance to p3"]
    screenshot("revise")

    for axis in ["correctness", "test_quality", "elegance"]:
        page.select_option("#vote-form select[name=axis]", axis)
        page.select_option("#vote-form select[name=vote]", "ACCEPT")
        page.click("#vote-form button")
        page.get_by_text(f"Voted ACCEPT on {axis}.").wait_for()
    assert page.locator("#transitions-available button").all_inner_texts() == [
        "Advance to p5",
        "Advance to p3",
    ]
    page.click("button:has-text('Advance to p5')")
    page.get_by_text("Advanced to p5.").wait_for()

    page.fill("#blocker-form input[name=blocker_id]", "b-404")
    page.check("#blocker-form input[name=resolved]")
    page.click("#blocker-form button")
    page.get_by_text("Refused: Finding 'b-404' is not open.").wait_for()
    assert page.locator("#timeline tbody tr").count() == 4
    screenshot("detail")

    page.goto(f"{live_server.url}/admin/epochs/epoch/?phase=p5")
    page.get_by_text("browser-epoch").wait_for()
    assert page.locator(".epoch-progress .step.done").count() == 4
    screenshot("list")


def test_the_constraint_reference_is_linked_from_the_list(admin_client: Client) -> None:
    html = admin_client.get("/admin/epochs/epoch/").content.decode()
    assert 'href="/admin/epochs/epoch/constraints/"' in html
    page = admin_client.get("/admin/epochs/epoch/constraints/")
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count('<th scope="row"><code>C-') == 28
    assert "use ACCEPT or REVISE only" in text and "git agent-commit -m ..." in text
    assert '<tr id="h6">' in text and "findings-summary" in text


def test_the_constraint_reference_needs_the_view_permission() -> None:
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/epochs/epoch/constraints/").status_code == 403
    staff.user_permissions.add(*Permission.objects.filter(codename="view_epoch"))
    assert client.get("/admin/epochs/epoch/constraints/").status_code == 200
    assert Client().get("/admin/epochs/epoch/constraints/").status_code == 302  # to the login


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_constraint_reference_in_a_browser(admin_page, live_server, screenshot) -> None:
    page = admin_page
    page.goto(f"{live_server.url}/admin/epochs/epoch/")
    page.click("#constraint-reference-link")
    page.get_by_role("heading", name="Protocol constraints").wait_for()
    assert page.locator("#constraints tbody tr").count() == 28
    assert page.locator("#handoffs tbody tr").count() == 6
    row = page.locator("tr#C-agent-commit")
    row.locator("details.anti-pattern summary").click()
    assert 'git commit -m "feat: add login"' in row.inner_text()
    screenshot("reference")
