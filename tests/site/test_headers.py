"""Security headers, and a Content-Security-Policy that the admin, the API docs and the
browsable API live with in a real browser."""

from typing import Any

import pytest
from django.test import Client

from crises.models import Crisis
from epochs.models import Epoch

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return dict(parts)


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/api/v1/crises/", "/api/v1/docs/", "/api/v1/redoc/"]
)
def test_every_page_carries_the_policy_and_the_other_headers(client: Client, path: str) -> None:
    response = client.get(path)
    policy = directives(response["Content-Security-Policy"])
    assert POLICY.items() <= policy.items(), policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_docs_pages_load_nothing_from_elsewhere(client: Client) -> None:
    for path in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(path).content.decode()
        assert "https://" not in html, path
        assert "<script>" not in html, path  # inline scripts would need a policy exception


# --- in Chromium ----------------------------------------------------------------------------


# Redoc's sidebar shows the Redocly logo from Redocly's CDN, whatever its options: the policy
# blocks it on purpose (nothing is fetched from elsewhere) and Redoc then leaves the logo out.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def watch(page: Any) -> list[str]:
    """Collect the page's policy violations and script errors from now on."""
    problems: list[str] = []

    def console(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "CSP violation" in text:
            if REDOC_LOGO not in text:
                problems.append(text)

    page.add_init_script(
        """document.addEventListener("securitypolicyviolation", (e) =>
            console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));"""
    )
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.browser
def test_admin_pages_work_under_the_policy(admin_page, live_server, screenshot) -> None:
    Crisis.objects.create(
        crisis_id="c-1", workflow_id="crisis-c-1", target="target-<b>alpha</b>\u202e"
    )
    Epoch.objects.create(epoch_id="e-1", request_description="add login")
    problems = watch(admin_page)
    for path, name in [
        ("/admin/", "index"),
        ("/admin/crises/crisis/", "crises"),
        ("/admin/epochs/epoch/", "epochs"),
        ("/admin/audit/auditevent/", "audit"),
    ]:
        admin_page.goto(live_server.url + path)
        admin_page.wait_for_load_state("networkidle")
        screenshot(name)
    # The admin's scripts ran: the sidebar's filter hides the models that do not match.
    admin_page.goto(f"{live_server.url}/admin/crises/crisis/")
    admin_page.fill("#nav-filter", "audit")
    assert admin_page.is_hidden("#nav-sidebar a:text-is('Crises')")
    assert admin_page.is_visible("#nav-sidebar a:text-is('Audit events')")
    # Stored markup shows as text.
    assert admin_page.is_visible("td:text-is('target-<b>alpha</b>\u202e')")
    assert problems == []


@pytest.mark.browser
def test_api_docs_work_under_the_policy(admin_page, live_server, screenshot) -> None:
    problems = watch(admin_page)
    admin_page.goto(f"{live_server.url}/api/v1/docs/")
    admin_page.wait_for_selector(".swagger-ui .info .title")
    admin_page.wait_for_selector("text=/api/v1/crises/")
    screenshot("swagger")
    admin_page.goto(f"{live_server.url}/api/v1/redoc/")
    admin_page.wait_for_selector("h1:has-text('Aura API')")
    admin_page.wait_for_load_state("networkidle")
    screenshot("redoc")
    assert problems == []


@pytest.mark.browser
def test_the_browsable_api_works_under_the_policy(admin_page, live_server, screenshot) -> None:
    problems = watch(admin_page)
    admin_page.goto(f"{live_server.url}/api/v1/crises/")
    admin_page.wait_for_selector("text=Crisis List")
    # Its scripts ran: the format dropdown opens.
    admin_page.click("button.dropdown-toggle >> nth=0")
    assert admin_page.is_visible(".dropdown-menu >> nth=0")
    screenshot("crises")
    # A POST through its raw-data form (its scripts send it) answers problem details.
    admin_page.click("a[href='#post-generic-content-form']")
    admin_page.fill("#id__content", '{"target": "x"}')
    admin_page.click("#post-generic-content-form button.btn-primary")
    admin_page.wait_for_selector("text=HTTP 400 Bad Request")
    assert admin_page.is_visible("text=Invalid input")
    screenshot("post")
    assert problems == []
