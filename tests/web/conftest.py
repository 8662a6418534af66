"""Debian's Chromium, driven by Playwright for the web tests (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from web.served import CHROMIUM


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium: the browser tests skip without it (and fail when it is required)."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("COACHLEDGER_REQUIRE_BROWSER"):
            pytest.fail(f"{reason} (COACHLEDGER_REQUIRE_BROWSER is set)", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    try:
        from playwright import sync_api as playwright
    except ImportError:
        if os.environ.get("COACHLEDGER_REQUIRE_BROWSER"):
            pytest.fail("playwright is not installed (pip install -e '.[test]')", pytrace=False)
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()
