"""Bearer API keys tied to roles. A missing or unknown key is 401; a known key whose role may
not use the route is 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from intake.errors import IntakeError
from intake.runtime import Runtime
from storage.apikeys import authenticate

_bearer = HTTPBearer(auto_error=False, description="docintake API key")


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str
    scopes: tuple[str, ...]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="docintake"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise IntakeError("auth.missing_key", headers=challenge)
    with _runtime(request).database.session() as session:
        row = authenticate(session, credentials.credentials)
        if row is None:
            raise IntakeError("auth.invalid_key", headers=challenge)
        return Principal(row.id, row.name, row.role, tuple(row.scopes or ()))


def require(*roles: str) -> Any:
    """A dependency admitting only keys of the given roles."""

    def dependency(
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
