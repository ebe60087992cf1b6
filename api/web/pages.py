"""The pages people use in a browser: sign-in, and the home page of each role.

Server-rendered Jinja2 (autoescaped: OCR text, field values and file names are untrusted and
only ever rendered escaped), htmx for fragments, no inline script and no third-party host:
`SecureHeaders` sends a strict Content-Security-Policy, frame denial and no-store on every
page. A page acts through the same services, with the same principal and audit, as the API:
a signed-in person is the API-key principal made for their account (`intake.accounts`).
State-changing requests carry the session's CSRF token (a form field, or the
`X-CSRF-Token` header htmx sends from the `hx-headers` of the page's body).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake.accounts import Accounts, WebPrincipal, check_csrf
from intake.errors import IntakeError

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
SESSION_COOKIE = "docintake_session"
LOGIN_COOKIE = "docintake_login"  # the sign-in form's own CSRF token (no session yet)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ROLE_NAMES = {"clerk": "窗口受理", "reviewer": "审查", "approver": "审批决定",
              "admin": "管理员"}

router = APIRouter(include_in_schema=False)


class SecureHeaders:
    """Adds the page headers to every response outside the JSON API (and keeps the API's
    own): the pages carry personal data and must never be framed or cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in PAGE_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _accounts(request: Request) -> Accounts:
    return Accounts(request.app.state.runtime)


def _secure_cookies(request: Request) -> bool:
    return bool(request.app.state.runtime.settings.environment != "development")


class SignInRequired(Exception):
    """No live session: the page redirects to the sign-in form."""


def signed_in(request: Request) -> WebPrincipal:
    principal = _accounts(request).principal(request.cookies.get(SESSION_COOKIE))
    if principal is None:
        raise SignInRequired
    return principal


Person = Annotated[WebPrincipal, Depends(signed_in)]


def requires(*roles: str) -> Any:
    def dependency(person: Person) -> WebPrincipal:
        if person.role not in roles:
            raise IntakeError("auth.forbidden_role", role=person.role)
        return person

    return Depends(dependency)


async def csrf_checked(request: Request, person: Person) -> WebPrincipal:
    """For every state-changing page request: the session's CSRF token, from the htmx
    header or the form."""
    presented = request.headers.get("X-CSRF-Token")
    if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    check_csrf(person, presented)
    return person


Acting = Annotated[WebPrincipal, Depends(csrf_checked)]


def render(request: Request, template: str, person: WebPrincipal | None = None,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template,
        {"person": person, "role_names": ROLE_NAMES, "canonical_url": None, **context},
        status_code=status_code)


# -- sign-in ---------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", login_token=token, error=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure_cookies(request), path="/login", max_age=3600)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, username: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=500)],
          login_token: Annotated[str, Form(max_length=100)]) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not secrets.compare_digest(expected, login_token):
        return render(request, "login.html", login_token=expected or "",
                      error=IntakeError("auth.csrf").message, status_code=403)
    client = request.client.host if request.client else "unknown"
    try:
        ticket = _accounts(request).sign_in(username, password, client=client)
    except IntakeError as exc:
        response = render(request, "login.html", login_token=expected, error=exc.message,
                          status_code=exc.status)
        response.headers.update(exc.headers)
        return response
    done = RedirectResponse("/", status_code=303)
    done.set_cookie(SESSION_COOKIE, ticket.token, httponly=True, samesite="strict",
                    secure=_secure_cookies(request), path="/")
    done.delete_cookie(LOGIN_COOKIE, path="/login")
    return done


@router.post("/logout")
def logout(request: Request, _: Acting) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _accounts(request).sign_out(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, person: Person) -> Response:
    """Each role starts where its work is."""
    if person.role == "clerk":
        return RedirectResponse("/window", status_code=303)
    if person.role == "reviewer":
        return RedirectResponse("/review", status_code=303)
    return render(request, "home.html", person)
