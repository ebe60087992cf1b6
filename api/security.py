"""The API's edges: headers that keep personal data out of caches and sniffers, the API
documentation behind a key (or off in production), and the rate-limit dependency of the
expensive and guessable routes (`intake.ratelimit` does the counting)."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AnyRole, Principal, current_principal
from intake.ratelimit import Limit, MemoryLimiter, RateLimits, RedisLimiter
from intake.runtime import Runtime

SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """Every response: not stored by caches (`no-store`: reports, certificates and notices
    carry personal data), not content-sniffed, no referrer leaking case ids. A route that
    sets its own `Cache-Control` keeps it (e.g. an ETag'd notice, still `no-store`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def docs_enabled(runtime: Runtime) -> bool:
    setting = runtime.settings.api_docs
    return setting if setting is not None else runtime.settings.environment != "production"


def install_docs(app: FastAPI, runtime: Runtime) -> None:
    """`/openapi.json`, `/docs` and `/redoc` for holders of a key (any role), or not at
    all (production default). The key travels in the Authorization header only, never in
    a query string, so the pages are for tools that send it (an API client, a browser
    extension); `curl -H 'Authorization: Bearer …' /openapi.json` always works."""
    if not docs_enabled(runtime):
        return

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: AnyRole) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(_: AnyRole) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="docintake API")

    @app.get("/redoc", include_in_schema=False)
    def redoc(_: AnyRole) -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="docintake API")


def make_rate_limits(runtime: Runtime) -> RateLimits:
    settings = runtime.settings

    def now() -> float:
        return runtime.clock.now().timestamp()

    limiter = RedisLimiter(settings.broker_url, now) if settings.broker_url \
        else MemoryLimiter(now)
    per = {"render": settings.rate_limit_renders_per_minute,
           "certificates": settings.rate_limit_certificates_per_minute,
           "progress": settings.rate_limit_progress_per_minute}
    return RateLimits(limiter, {name: Limit(n, max(1, n)) for name, n in per.items()})


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _check(limits: RateLimits, route_class: str, key_id: int | None,
                 address: str) -> None:
    # Buckets in this process take microseconds: checked on the event loop rather than
    # handed to the thread pool; Redis is a round trip, made from a worker thread.
    if isinstance(limits.limiter, MemoryLimiter):
        limits.check(route_class, key_id=key_id, address=address)
    else:
        await anyio.to_thread.run_sync(
            functools.partial(limits.check, route_class, key_id=key_id, address=address))


def rate_limited(route_class: str) -> Any:
    """A dependency taking a token for the calling key and its address (authenticates)."""

    async def dependency(request: Request,
                         principal: Annotated[Principal, Depends(current_principal)]) -> None:
        await _check(request.app.state.rate_limits, route_class, principal.key_id,
                     _address(request))

    return Depends(dependency)


def address_rate_limited(route_class: str) -> Any:
    """The same for a route without a key (the applicant's progress query)."""

    async def dependency(request: Request) -> None:
        await _check(request.app.state.rate_limits, route_class, None, _address(request))

    return Depends(dependency)
