"""The gate every HTTP request passes before routing reads a byte of its body.

`RequestGuard` is a pure ASGI middleware. For a route that needs a key it checks the bearer
key first (the same lookup as `api.auth`), so an anonymous request is refused with its body
unread. Then it bounds the body: a declared `Content-Length` over the route's limit is a
413 at once, and a streamed body is counted as it arrives and cut off at the limit, so no
body larger than the limit is ever buffered, parsed or written anywhere. JSON routes get a
small limit (`JSON_BODY_LIMIT`); routes marked `streamed_upload` get the per-request upload
total from the settings and parse their multipart body themselves (`api.uploads`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.routing import BaseRoute, Router, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import current_principal, principal_for_key
from api.problems import problem_response
from intake.errors import IntakeError
from intake.runtime import Runtime

JSON_BODY_LIMIT = 64 * 1024
"""Bytes of a JSON request body: every JSON body the API takes is a few fields."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def streamed_upload(endpoint: Endpoint) -> Endpoint:
    """Mark a route whose body is a multipart upload it streams itself (`api.uploads`):
    the guard lets it through up to the per-request upload total instead of the JSON
    limit."""
    endpoint.streamed_upload = True  # type: ignore[attr-defined]
    return endpoint


class BodyTooLarge(Exception):
    """The streamed body passed the route's limit (raised into whoever was reading it)."""


def needs_key(dependant: Dependant) -> bool:
    return any(dep.call is current_principal or needs_key(dep)
               for dep in dependant.dependencies)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class _RoutePolicy:
    path: re.Pattern[str]
    methods: frozenset[str]
    needs_key: bool
    upload: bool


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, set[str], Any]]:
    """(path format, methods, APIRoute) of every API route, at any depth of inclusion."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI with included routers
    except ImportError:  # pragma: no cover - older FastAPI: routes are flat
        for route in routes:
            if isinstance(route, APIRoute):
                yield route.path_format, set(route.methods or ()), route
        return
    for context in iter_route_contexts(routes):
        if isinstance(context.original_route, APIRoute):
            yield context.path_format or "", set(context.methods or ()), context.original_route


class RequestGuard:
    def __init__(self, app: ASGIApp, *, router: Router, runtime: Runtime) -> None:
        self.app = app
        self.router = router
        self.runtime = runtime
        self._table: list[_RoutePolicy] | None = None

    def _policies(self) -> list[_RoutePolicy]:
        # Built on the first request, when every router has been included.
        if self._table is None:
            self._table = [
                _RoutePolicy(compile_path(path)[0], frozenset(methods) | {"HEAD"},
                             needs_key(route.dependant),
                             bool(getattr(route.endpoint, "streamed_upload", False)))
                for path, methods, route in api_routes(self.router.routes)]
        return self._table

    def _policy(self, scope: Scope) -> tuple[bool, bool]:
        """(needs a key, streams an upload) for the route the request goes to; an unknown
        route or method needs neither (it ends as a 404 or 405 without reading the
        body)."""
        path, method = scope["path"], scope["method"]
        for policy in self._policies():
            if method in policy.methods and policy.path.match(path):
                return policy.needs_key, policy.upload
        return False, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needs_key, upload = self._policy(scope)
        if needs_key:
            presented = _bearer(scope)
            try:
                principal = await anyio.to_thread.run_sync(principal_for_key, self.runtime,
                                                            presented)
            except IntakeError as refused:
                await problem_response(Request(scope), refused)(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        limit = (self.runtime.settings.max_batch_bytes if upload else JSON_BODY_LIMIT)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send, upload, limit)
            return
        await self._bounded(scope, receive, send, upload, limit)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, upload: bool,
                       limit: int) -> None:
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the route made of the cut-off body, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send, upload, limit)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, upload: bool,
                         limit: int) -> None:
        # Connection: close, because the rest of the body is never read.
        close = {"Connection": "close"}
        error = (IntakeError("batch.too_large", limit_mb=limit // (1024 * 1024), headers=close)
                 if upload else
                 IntakeError("request.too_large", limit_kb=limit // 1024, headers=close))
        await problem_response(Request(scope), error)(scope, receive, send)
