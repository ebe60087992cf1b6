"""Who may open which case: the one object-level access rule of docintake.

Every service method that touches a case, a batch, a report, a notice, a document or a
certificate's source case loads the case through `case_for(session, principal, case_id)`;
nothing else decides. The rule (also in the README, "Who may see what"):

* **Centers are walls.** A key belongs to one service center (`center_id`) or, for admins
  only, to none (a *global* admin). A case belongs to the center whose key opened it. A key
  of one center never sees another center's case: it is answered exactly like a case that
  does not exist (404 `case.not_found`), so existence does not leak.
* **Clerks** read every case of their center (the applicant may come back to any window),
  but add paper (batches) and route cases only in the cases they *handle*: the ones they
  opened, or that their center's admin handed to them.
* **Reviewers** work on the cases of their center that are routed to them, or routed to
  nobody in particular (the whole center's review queue). A case routed to another
  reviewer is invisible to them (404). Routing is done by the center's admin or the
  handling clerk (`POST /cases/{id}/assignment`).
* **Approvers** work on every case of their center: they decide after the review, and
  who may decide what (separation of duties) is the lifecycle's rule.
* **Admins** open every case of their center; a global admin every case.
* **System** keys (other government systems) open no case; they query the certificate
  store, bound to a case by `case_ref` (see `intake.certificates`).

Role checks (403 `auth.forbidden_role`) happen before this, at the route; this module
answers only "may this principal touch this object", with 404 when not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from intake.errors import IntakeError
from intake.inputs import bounded, is_uuid
from storage.audit import Actor
from storage.models import Case

CLERK = "clerk"
REVIEWER = "reviewer"
APPROVER = "approver"
ADMIN = "admin"
SYSTEM = "system"
REVIEWING_ROLES = frozenset({REVIEWER, APPROVER})
STAFF_ROLES = frozenset({CLERK, *REVIEWING_ROLES})


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key with its role, scopes, center and declared purposes.
    `center_id` None means every center (only global admins, and the in-process operator)."""

    key_id: int | None
    name: str
    role: str
    scopes: tuple[str, ...] = ()
    center_id: int | None = None
    purposes: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        """The principal as the audit log records it."""
        return Actor(self.key_id, self.name, self.role, self.scopes)

    @property
    def is_global(self) -> bool:
        return self.center_id is None


OPERATOR = Principal(None, "docintake (operator)", ADMIN)
"""The in-process operator: the CLI's `demo`, benchmarks and tests that drive the service
without HTTP. It is never the principal of a request (every request has a key)."""


def may_open(principal: Principal, case: Case) -> bool:
    """Whether the principal may see the case at all (see the module docstring)."""
    if principal.center_id is not None and case.center_id != principal.center_id:
        return False
    role = principal.role
    if role == ADMIN:
        return True
    if role in (CLERK, APPROVER):
        return True
    if role == REVIEWER:
        return case.reviewer_key_id is None or case.reviewer_key_id == principal.key_id
    return False


def may_change(principal: Principal, case: Case) -> bool:
    """Whether the principal may add paper to the case or route it: its handling clerk or
    an admin who may open it."""
    if not may_open(principal, case):
        return False
    if principal.role == ADMIN:
        return True
    return principal.role == CLERK and case.handler_key_id == principal.key_id


def case_for(session: Session, principal: Principal, case_id: str, *,
             change: bool = False) -> Case:
    """The case, if the principal may open it (and, with `change`, change it); otherwise
    404 `case.not_found` for a case it may not see and 403 `case.not_yours` for a case of
    its center it may see but not change. An id not shaped like ours is never queried."""
    case = session.get(Case, case_id) if is_uuid(case_id) else None
    guard(principal, case, case_id, change=change)
    assert case is not None
    return case


def guard(principal: Principal, case: Case | None, case_id: str, *,
          change: bool = False) -> None:
    """`case_for` on a case already loaded (e.g. under a row lock)."""
    if case is None or not may_open(principal, case):
        raise IntakeError("case.not_found", case_id=bounded(case_id, 80))
    if change and not may_change(principal, case):
        raise IntakeError("case.not_yours", case_id=bounded(case_id, 80))


def case_by_number(session: Session, principal: Principal, number: str) -> Case | None:
    """The case with this number (or id) that the principal may open, else None."""
    from sqlalchemy import or_, select

    case = session.scalar(select(Case).where(or_(Case.number == number, Case.id == number)))
    if case is None or not may_open(principal, case):
        return None
    return case


def actor_of_key(session: Session, key_id: int | None) -> Actor:
    """The audit actor of a stored key id (the service itself when there is none)."""
    from storage.audit import SERVICE
    from storage.models import ApiKey

    row = session.get(ApiKey, key_id) if key_id is not None else None
    if row is None:
        return SERVICE
    return Actor(row.id, row.name, row.role, tuple(row.scopes or ()))


def center_of_new_case(principal: Principal) -> int:
    """The center a case opened by this principal belongs to: the key's own. A global
    key opens cases in the default center (a single-center installation)."""
    from storage.models import DEFAULT_CENTER_ID

    return principal.center_id if principal.center_id is not None else DEFAULT_CENTER_ID
