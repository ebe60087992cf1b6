"""Signing in and out in Chromium: the form's accessible names, sessions, lock-out, CSRF,
the security headers of every page, and an escaped user name."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from intake.accounts import MAX_FAILURES
from tests.web.conftest import PASSWORD, Site, assert_accessible


def test_a_clerk_signs_in_and_out(site: Site, page: Page, shoot: object) -> None:
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login")  # every page needs a session
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    assert_accessible(page)
    shoot("login")  # type: ignore[operator]
    site.sign_in(page, "clerk")
    expect(page.get_by_text("clerk1（窗口受理）")).to_be_visible()
    assert_accessible(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "docintake_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(site.url + "/login")
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login")  # the session ended on the server


def test_wrong_passwords_lock_the_account(site: Site, page: Page) -> None:
    for _ in range(MAX_FAILURES):
        page.goto(site.url + "/login")
        page.get_by_label("用户名").fill("clerk1")
        page.get_by_label("密码").fill("not the password")
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    page.get_by_label("用户名").fill("clerk1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("账号已锁定")


def test_pages_carry_strict_security_headers_and_refuse_forged_posts(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as client:
        login = client.get("/login")
        csp = login.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert login.headers["x-frame-options"] == "DENY"
        assert login.headers["cache-control"] == "no-store"
        # a sign-in posted without the form's own token (a cross-site form) is refused
        forged = client.post("/login", data={"username": "clerk1", "password": PASSWORD,
                                             "login_token": "guess"},
                             cookies={"docintake_login": "other"})
        assert forged.status_code == 403 and "docintake_session" not in forged.cookies
        token = login.cookies["docintake_login"]
        ok = client.post("/login", data={"username": "clerk1", "password": PASSWORD,
                                         "login_token": token})
        assert ok.status_code == 303
        # signed in, a state-changing request without the session's CSRF token is refused
        no_csrf = client.post("/logout")
        assert no_csrf.status_code == 403
        assert client.get("/window", follow_redirects=False).status_code == 200


def test_a_disabled_account_is_signed_out_at_once(site: Site, page: Page) -> None:
    from intake.accounts import Accounts

    site.sign_in(page, "reviewer")
    Accounts(site.runtime).disable("reviewer1")
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login")
