"""The Temporal Web UI shows encrypted payloads in clear text through Aura's codec endpoint.

`manage.py up` with AURA_PAYLOAD_KEYS, the dev server's real Web UI, and Debian's chromium: the
UI calls /codec/decode cross-origin; with the user's Aura session (the UI's "Include
cross-origin credentials" setting) the payloads read as JSON, without it they stay ciphertext.
"""

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aura_site.payload_keys import new_key_text
from tests.site.test_up import Up

pytestmark = pytest.mark.browser

SECRET_ACTION = "classified-op-7c1"


def test_temporal_ui_decodes_through_the_codec_endpoint(
    page: Any, screenshot: Any, tmp_path: Path
) -> None:
    up = Up(tmp_path / "state", AURA_PAYLOAD_KEYS=f"dev:{new_key_text()}")
    process = up.start()
    try:
        up.wait_until_running(process)
        web, ui = f"http://127.0.0.1:{up.web}", f"http://127.0.0.1:{up.ui}"
        assert f"Codec:        {web}/codec" in up.log
        with urllib.request.urlopen(f"{ui}/api/v1/settings", timeout=10) as answer:
            assert json.load(answer)["Codec"]["Endpoint"] == f"{web}/codec"

        username, password = (up.state_dir / "admin-password").read_text().split()
        page.goto(f"{web}/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{web}/admin/")
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        mission = {
            "phase_id": "phase-1",
            "agent_id": "agent-x",
            "action": SECRET_ACTION,
            "target": "target-ui",
        }
        started = page.request.post(
            f"{web}/api/v1/crises/",
            data={"target": "target-ui", "missions": [mission]},
            headers={"X-CSRFToken": csrf},
        )
        assert started.status == 201, started.text()
        crisis = started.json()
        done = page.request.get(f"{web}/api/v1/crises/{crisis['crisis_id']}/wait/?timeout=30")
        assert done.json()["status"] == "completed"

        # The cluster-level endpoint, without credentials: the UI shows ciphertext.
        page.goto(crisis["temporal_ui_url"])
        error = page.get_by_test_id("data-encoder-status-error")
        error.wait_for()
        assert page.get_by_text(SECRET_ACTION).count() == 0
        screenshot("ciphertext")

        # The same endpoint from the browser's codec settings, with credentials.
        error.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Use my browser setting").click()
        dialog.locator("textarea").fill(f"{web}/codec")
        dialog.get_by_text("Include cross-origin credentials").click()
        dialog.get_by_role("button", name="Apply").click()
        page.reload()
        page.get_by_text(f'"{SECRET_ACTION}"').first.wait_for()
        assert page.get_by_test_id("data-encoder-status-error").count() == 0
        screenshot("decoded")
    finally:
        assert up.stop(process) == 0, up.log
