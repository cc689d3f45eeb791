"""The app's settings with one test-only URL (tests/site/slow_urls.py), for a real server."""

from aura_site.settings import *  # noqa: F403

ROOT_URLCONF = "tests.site.slow_urls"
