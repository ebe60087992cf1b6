"""Bearer API keys tied to roles and service centers. A missing, unknown, revoked or
expired key is 401; a known key whose role may not use the route is 403. Which *objects*
a key may touch is decided in the service layer (`intake.access`), not here.

The key is first checked by `api.guard.RequestGuard`, before any request body is read; it
leaves the principal in `request.state`, and `current_principal` takes it from there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from intake.access import Principal
from intake.errors import IntakeError
from intake.runtime import Runtime
from storage.apikeys import check_key, is_active, note_use_of

__all__ = ["Principal", "current_principal", "require"]

_bearer = HTTPBearer(auto_error=False, description="docintake API key")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="docintake"'}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def principal_of(runtime: Runtime, presented: str) -> Principal:
    """The principal of a presented key, checked now (revocation and expiry take effect
    on the next request; nothing is cached)."""
    if len(presented) > MAX_KEY_LENGTH or not presented.isprintable():
        raise IntakeError("auth.invalid_key", headers=CHALLENGE)
    now = datetime.now(UTC)
    with runtime.database.reading() as conn:
        key = check_key(conn, presented)
        if key is None or key.revoked_at is not None:
            raise IntakeError("auth.invalid_key", headers=CHALLENGE)
        if not is_active(key, now):
            raise IntakeError("auth.expired_key", headers=CHALLENGE)
        note_use_of(conn, key, now)
    return Principal(key.id, key.name, key.role, key.scopes, key.center_id, key.purposes)


MAX_KEY_LENGTH = 200
"""Longer than any key we issue; a longer presented key is refused without a lookup."""


def principal_for_key(runtime: Runtime, presented: str | None) -> Principal:
    """`principal_of` for a bearer credential that may be missing (the request guard)."""
    if not presented:
        raise IntakeError("auth.missing_key", headers=CHALLENGE)
    return principal_of(runtime, presented)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # Coroutines, this and `require`'s check: FastAPI runs a plain function dependency in
    # its thread pool, a hand-off per dependency per request for what is mostly a lookup
    # in `request.state`.
    checked = getattr(request.state, "principal", None)
    if isinstance(checked, Principal):
        return checked  # checked by the request guard, before the body was read
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise IntakeError("auth.missing_key", headers=CHALLENGE)
    principal = await anyio.to_thread.run_sync(principal_of, _runtime(request),
                                               credentials.credentials)
    request.state.principal = principal  # for the rate limiter and access logs
    return principal


def require(*roles: str) -> Any:
    """A dependency admitting only keys of the given roles."""

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if principal.role not in roles:
            raise IntakeError("auth.forbidden_role", role=principal.role,
                              allowed=f"; allowed: {', '.join(roles)}")
        return principal

    return Depends(dependency)


ANY_ROLE = ("clerk", "reviewer", "approver", "admin", "system")
CASE_READERS = ("clerk", "reviewer", "approver", "admin")
CASE_WRITERS = ("clerk", "admin")
# Who may take some lifecycle action; which action, from which state, is the state
# machine's table (intake.lifecycle.TRANSITIONS).
CASE_ACTORS = ("clerk", "reviewer", "approver", "admin")
SUPERVISORS = ("admin", "approver", "reviewer")

AnyRole = Annotated[Principal, require(*ANY_ROLE)]
CaseReader = Annotated[Principal, require(*CASE_READERS)]
CaseWriter = Annotated[Principal, require(*CASE_WRITERS)]
CaseActor = Annotated[Principal, require(*CASE_ACTORS)]
Supervisor = Annotated[Principal, require(*SUPERVISORS)]
Admin = Annotated[Principal, require("admin")]
