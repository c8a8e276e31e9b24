"""Browser tests: Debian's Chromium driven by Playwright against a live server on 127.0.0.1.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run`` installs
the Debian package).  The server is the real app in a thread, on a committed database of the
module's own with the demo data, the automatic answers and the default processes started
for the demo tickets.  Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from core.config import get_settings
from core.db import make_engine, make_sessionmaker
from desk.demo import DEMO_PASSWORD
from tests.conftest import IN_CI, WORKER, seeded_pg_database, unavailable
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("TICKETFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def e2e_factory(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    """A committed database of the module's own, seeded and with processes running."""
    name = f"tf_e2e_{request.module.__name__.rsplit('.', 1)[-1][:20]}_{WORKER}"
    engine = make_engine(seeded_pg_database(name))
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def live_server(e2e_factory: sessionmaker[Session]) -> Iterator[str]:
    """The app served on a free port; yields its base URL (no trailing slash)."""
    app = create_app(get_settings(), session_factory=e2e_factory, login_limiter=InMemoryLoginLimiter())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        unavailable("Chromium (/usr/bin/chromium)", "not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab with its own cookies, in English."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Any, base: str, login: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


__all__ = ["IN_CI", "screenshot", "sign_in"]
