"""Screenshots of the configuration pages for the README.

    SCREENSHOTS=1 DATA_DIR=$(mktemp -d) .venv/bin/python -m pytest tests/test_config_screenshots.py

writes docs/screenshots/*.png (skipped otherwise, so the suite does not rewrite tracked files)."""

import os
from datetime import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="set SCREENSHOTS=1 to refresh docs/screenshots"),
]

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def test_screenshots(signed_in_page, peer):
    from addons import services
    from schedules.services import create_schedule

    OUT.mkdir(parents=True, exist_ok=True)
    services.add_addon(peer.url, "both")
    services.add_addon(peer.base + "/%7B%22token%22%3A%22abc%22%7D/manifest.json", "stream")
    services.load_catalogs()
    create_schedule(time=time(2, 30), days=[1, 3, 5])
    create_schedule(time=time(14, 0), days=list(range(7)))
    page = signed_in_page
    for name, path in (("addons", "/addons/"), ("catalogs", "/catalogs/"), ("settings", "/settings/"), ("schedules", "/schedules/")):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "settings")
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    page.goto("/catalogs/")
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    page.screenshot(path=str(OUT / "catalogs-light.png"))
