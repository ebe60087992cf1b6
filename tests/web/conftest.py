"""Browser tests: the real app on a real socket, driven by Debian's Chromium through
Playwright (no browser is downloaded). They run in their own pytest run of the README's test
command (`make test`), because Playwright's sync API keeps an event loop of its own.

Waits are web-first assertions (`expect(...)`), never sleeps. Each test can keep a
screenshot of what it saw under build/screenshots/ (`shoot`), a test artifact for people."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.app import create_app
from intake.accounts import Accounts
from intake.runtime import Runtime
from intake.settings import load_settings
from tests.helpers import serve_in_thread

CHROMIUM = os.environ.get("DOCINTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "correct horse battery staple"
ROLES = ("clerk", "reviewer", "approver", "admin")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768},
            "locale": "zh-CN"}


@dataclass
class Site:
    url: str
    runtime: Runtime
    users: dict[str, str] = field(default_factory=dict)  # role -> user name

    def sign_in(self, page: Page, role: str, password: str = PASSWORD) -> None:
        page.goto(self.url + "/login")
        page.get_by_label("用户名").fill(self.users[role])
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings = load_settings(data_dir=tmp_path / "data", task_mode="thread")
    runtime = Runtime.from_settings(settings)
    accounts = Accounts(runtime)
    users = {}
    for role in ROLES:
        users[role] = accounts.create_user(f"{role}1", PASSWORD, role).username
    url, stop = serve_in_thread(create_app(runtime))
    try:
        yield Site(url, runtime, users)
    finally:
        stop()
        runtime.close()


@pytest.fixture
def shoot(page: Page, request: pytest.FixtureRequest) -> Any:
    """`shoot("name")` keeps a full-page screenshot of the current page."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def assert_accessible(page: Page) -> None:
    """axe-core on the current page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"]
           if v.get("impact") in ("serious", "critical")]
    assert bad == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                       for v in bad]
