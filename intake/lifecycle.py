"""The life of a case after its completeness report: acceptance, review, decision, closing,
and the statutory clock that runs over it.

The states and the transitions between them are ONE table, `TRANSITIONS` (state, action,
roles, next state), checked in one place, `plan_transition`; everything else here applies
a planned transition to the database. Every transition is written as a `case_events` row
(who, when, why, payload) in the same transaction as the state change, and then handed to
`on_transition`: the one place where side effects of a transition belong (issuing a notice,
writing an outbox event), so that they commit or roll back with it.

The Administrative Licensing Law in short: the window accepts (受理), accepts with a
secondary material outstanding (容缺受理), returns the application for supplement with a
one-time notice (补正, art. 32) or refuses it (不予受理); the back office reviews (审查) and an
approver decides (准予 / 不予许可) within the item's limit, which a hearing, inspection or
expert review pauses (art. 45) and which can be extended once by up to 10 working days
(art. 42). Whoever accepted or reviewed a case may not decide it.

Deadlines are computed on read from the case's dates and the working-day calendar
(`rules.deadlines`), as of "today" in the center's time zone (`runtime.clock`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from intake.access import OPERATOR, Principal, case_for, guard, may_open
from intake.calendar import CalendarCache
from intake.errors import IntakeError
from intake.notices import compose as compose_notice
from intake.notices import issue as issue_notice
from intake.notices import kind_for as notice_kind_for
from intake.outbox import record_case_event
from intake.query_codes import code_digest, new_query_code
from intake.runtime import Runtime
from rules.catalog import UnknownItemError
from rules.deadlines import (
    MAX_EXTENSION_DAYS,
    CaseClock,
    Deadlines,
    case_deadlines,
)
from rules.workdays import Pause, WorkCalendar
from storage.cases import CaseRepository
from storage.models import DEFAULT_CENTER_ID, Case, CaseEvent, Notice, ServiceCenter
from storage.outbox import Outbox

log = logging.getLogger(__name__)

# -- the state machine ----------------------------------------------------------------------
STATE_NAMES: Final[dict[str, str]] = {
    "received": "收件",
    "prechecked": "已预审",
    "returned": "补正",
    "refused": "不予受理",
    "accepted": "受理",
    "accepted_tolerant": "容缺受理",
    "under_review": "审查",
    "paused": "中止（听证、检验检测、专家评审等）",
    "decided": "已决定",
    "closed": "办结",
    "withdrawn": "撤回",
}
ACTION_NAMES: Final[dict[str, str]] = {
    "receive": "收件", "resubmit": "补正材料收件", "precheck": "预审", "accept": "受理",
    "accept_tolerant": "容缺受理",
    "return": "退回补正", "refuse": "不予受理", "review": "开始审查", "decide": "作出决定",
    "close": "办结", "withdraw": "撤回", "pause": "中止计时", "resume": "恢复计时",
    "extend": "延期",
}
OPEN_STATES: Final = frozenset({"received", "prechecked", "returned", "accepted",
                                "accepted_tolerant", "under_review", "paused", "decided"})
TERMINAL_STATES: Final = frozenset({"refused", "closed", "withdrawn"})

SAME: Final = "(same)"          # the transition leaves the state as it is
PREVIOUS: Final = "(previous)"  # back to the state the case was paused in

WINDOW = ("clerk", "admin")
# A chief representative (首席代表, an approver) may also accept at the window or review a
# case himself; separation of duties then keeps him from deciding that case.
ACCEPT = (*WINDOW, "approver")
REVIEW = ("reviewer", "approver")
APPROVE = ("approver",)
SYSTEM = ("system",)


@dataclass(frozen=True)
class Transition:
    state: str
    action: str
    roles: tuple[str, ...]
    next_state: str


def _rows(states: Iterable[str], action: str, roles: tuple[str, ...],
          next_state: str) -> list[Transition]:
    return [Transition(s, action, roles, next_state) for s in states]


_RUNNING = ("accepted", "accepted_tolerant", "under_review")

TRANSITIONS: Final[tuple[Transition, ...]] = (
    # a batch for a returned case: the supplemented application is received again
    Transition("returned", "resubmit", SYSTEM, "received"),
    # a stored report
    *_rows(("received", "prechecked", "returned"), "precheck", SYSTEM, "prechecked"),
    # The window may act on a case still being read: the report is an aid to its judgment,
    # and the art. 32 clock runs from receipt whatever the scanners do.
    *_rows(("received", "prechecked"), "accept", ACCEPT, "accepted"),
    *_rows(("received", "prechecked"), "accept_tolerant", ACCEPT, "accepted_tolerant"),
    *_rows(("received", "prechecked"), "return", WINDOW, "returned"),
    *_rows(("received", "prechecked"), "refuse", WINDOW, "refused"),
    *_rows(("accepted", "accepted_tolerant"), "review", REVIEW, "under_review"),
    Transition("under_review", "decide", APPROVE, "decided"),
    Transition("decided", "close", WINDOW, "closed"),
    *_rows(_RUNNING, "pause", REVIEW, "paused"),
    Transition("paused", "resume", REVIEW, PREVIOUS),
    *_rows((*_RUNNING, "paused"), "extend", APPROVE, SAME),
    *_rows(sorted(OPEN_STATES - {"decided"}), "withdraw", WINDOW, "withdrawn"),
)
_TABLE: Final[dict[tuple[str, str], Transition]] = {(t.state, t.action): t
                                                    for t in TRANSITIONS}
ACTIONS: Final = frozenset(t.action for t in TRANSITIONS)
# Actions only the pipeline takes (not an API call).
AUTOMATIC_ACTIONS: Final = frozenset({"precheck", "resubmit"})


@dataclass(frozen=True)
class Actor:
    """Who takes an action: an API key (`key_id`) of a role, or the system itself."""

    key_id: int | None
    name: str
    role: str


SYSTEM_ACTOR: Final = Actor(None, "docintake", "system")


def plan_transition(state: str, action: str, role: str, *, paused_from: str | None = None
                    ) -> str:
    """The state `action` leads to from `state`, or the error: 403 when `role` may never
    take the action, 409 `case.invalid_transition` when the case's state does not allow it.
    Pure; the one check of the table."""
    allowed_roles = {r for t in TRANSITIONS if t.action == action for r in t.roles}
    if role not in allowed_roles:
        raise IntakeError("auth.forbidden_role", role=role,
                          allowed=f"; allowed: {', '.join(sorted(allowed_roles))}")
    row = _TABLE.get((state, action))
    if row is None or role not in row.roles:
        from_states = sorted(t.state for t in TRANSITIONS if t.action == action)
        raise IntakeError(
            "case.invalid_transition", state=state, state_zh=STATE_NAMES.get(state, state),
            action=action, action_zh=ACTION_NAMES.get(action, action),
            allowed=f" (only from: {', '.join(from_states)})",
            extra={"state": state, "action": action, "allowed_from": from_states})
    if row.next_state == SAME:
        return state
    if row.next_state == PREVIOUS:
        return paused_from or "accepted"
    return row.next_state


def check_separation_of_duties(action: str, actor: Actor, *, accepted_by: int | None,
                               reviewed_by: int | None) -> None:
    """Whoever accepted or reviewed a case may not decide it (a clerk never decides at all:
    the table gives `decide` to approvers only)."""
    if action != "decide" or actor.key_id is None:
        return
    if actor.key_id == accepted_by:
        raise IntakeError("case.separation_of_duties", who_zh="受理本案的人员",
                          who_en="accepted")
    if actor.key_id == reviewed_by:
        raise IntakeError("case.separation_of_duties", who_zh="审查本案的人员",
                          who_en="reviewed")


# -- requests and views ----------------------------------------------------------------------
@dataclass(frozen=True)
class Outstanding:
    """A secondary material accepted as outstanding (容缺): the slot, the date the applicant
    promised to bring it by, and the commitment in their words."""

    slot: str
    due_on: date
    commitment: str


@dataclass(frozen=True)
class ActionRequest:
    reason: str | None = None
    decision: str | None = None          # decide: approve / deny
    days: int | None = None              # extend
    outstanding: tuple[Outstanding, ...] = ()  # accept with outstanding material
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventView:
    id: int
    action: str
    from_state: str
    to_state: str
    at: datetime
    on_date: date
    actor: str
    role: str
    key_id: int | None
    reason: str | None
    payload: dict[str, Any]
    notices: tuple[NoticeRef, ...] = ()
    query_code: str | None = None  # only in the answer to the acceptance itself

    @classmethod
    def of(cls, row: CaseEvent, effects: Effects | None = None) -> EventView:
        notices = tuple(NoticeRef(n.id, n.kind, n.label) for n in effects.notices) \
            if effects else ()
        return cls(row.id, row.action, row.from_state, row.to_state, row.at, row.on_date,
                   row.actor, row.role, row.key_id, row.reason, dict(row.payload or {}),
                   notices, effects.query_code if effects else None)


@dataclass(frozen=True)
class NoticeRef:
    id: str
    kind: str
    label: str


@dataclass(frozen=True)
class Standing:
    """Where a case stands on its clock: now (from the case row, `of`) or on a past day
    (its events replayed up to it, `replay`)."""

    state: str
    notice_clock_from: date
    accepted_on: date | None = None
    decided_on: date | None = None
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0

    @classmethod
    def of(cls, case: Case) -> Standing:
        pauses = tuple(Pause(date.fromisoformat(p["from"]),
                             date.fromisoformat(p["to"]) if p.get("to") else None)
                       for p in case.pauses or [])
        return cls(case.state, case.notice_clock_from, case.accepted_on, case.decided_on,
                   pauses, case.extension_days or 0)

    @classmethod
    def replay(cls, events: Sequence[CaseEvent], until: date) -> Standing | None:
        """The standing after the events of days up to `until`; None if there are none."""
        state: str | None = None
        notice_from: date | None = None
        accepted_on = decided_on = None
        pauses: list[Pause] = []
        extension = 0
        for event in events:
            if event.on_date > until:
                break
            if event.action == "receive" or (
                    event.action in ("resubmit", "precheck")
                    and event.from_state == "returned"):
                notice_from = event.on_date
            elif event.action in ("accept", "accept_tolerant"):
                accepted_on = event.on_date
            elif event.action == "decide":
                decided_on = event.on_date
            elif event.action == "pause":
                pauses.append(Pause(event.on_date))
            elif event.action == "resume" and pauses:
                pauses[-1] = Pause(pauses[-1].start, event.on_date)
            elif event.action == "extend":
                extension = int((event.payload or {}).get("days", 0))
            state = event.to_state
        if state is None or notice_from is None:
            return None
        return cls(state, notice_from, accepted_on, decided_on, tuple(pauses), extension)


@dataclass(frozen=True)
class CaseLife:
    """Where a case stands and its clock, as of a date."""

    state: str
    received_on: date
    accepted_on: date | None
    decided_on: date | None
    closed_on: date | None
    decision: str | None
    extension_days: int
    pauses: list[dict[str, Any]]
    outstanding: list[dict[str, Any]]
    deadlines: Deadlines
    as_of: date


@dataclass(frozen=True)
class SupervisedCase:
    case_id: str
    number: str
    item_code: str
    item_name: str
    life: CaseLife


@dataclass(frozen=True)
class Supervision:
    as_of: date
    cases: list[SupervisedCase]
    counts: dict[str, dict[str, int]]  # item code -> light -> open cases
    totals: dict[str, int]


LIGHTS: Final = ("red", "yellow", "green")


# -- side effects of a transition -----------------------------------------------------------
@dataclass(frozen=True)
class Effects:
    """What a transition caused besides its state change: the notices it issued, and the
    applicant's query code (returned once, to be handed over; stored only as a digest)."""

    notices: tuple[Notice, ...] = ()
    query_code: str | None = None


def _center(runtime: Runtime, session: Session, case: Case) -> tuple[str, str]:
    """The center that issues the case's notices: its code (the notices' numbering) and its
    name. The default center of a single-center installation is named by the settings."""
    center = session.get(ServiceCenter, case.center_id)
    if center is None or center.id == DEFAULT_CENTER_ID:
        return runtime.settings.service_center_code, runtime.settings.service_center_name
    return center.code, center.name


def on_transition(runtime: Runtime, repo: CaseRepository, case: Case, event: CaseEvent,
                  life: CaseLife) -> Effects:
    """Everything a transition causes besides its state change and its event row, inside
    the same transaction, so that it commits or rolls back with it: the query code at
    acceptance, the notice the transition issues (受理通知书, 容缺受理通知书, 一次性告知书,
    不予受理通知书), and the outbox event other systems receive."""
    now = runtime.clock.now()
    center, center_name = _center(runtime, repo.session, case)
    query_code = None
    if event.action in ("accept", "accept_tolerant"):
        query_code = new_query_code()
        case.query_code_hash = code_digest(query_code)
    notices: list[Notice] = []
    kind = notice_kind_for(event)
    if kind is not None:
        item = runtime.catalog.item(case.item_code)
        supplement_due = None
        if kind == "one_time":
            supplement_due = life_calendar_due(runtime, repo, event.on_date)
        content = compose_notice(
            kind, case=case, item=item, center_name=center_name, issued_on=event.on_date,
            report=case.report, deadlines=_deadline_dict(life.deadlines),
            reason=event.reason, outstanding=list(case.outstanding or []),
            supplement_due=supplement_due, query_code=query_code)
        notices.append(issue_notice(
            runtime, repo.session, case, kind, content, center=center, issued_at=now,
            issued_on=event.on_date, key_id=event.key_id, actor=event.actor,
            query_code=query_code))
    record_case_event(Outbox(repo.session), case_id=case.id, action=event.action, now=now,
                      payload={"case_number": case.number, "item_code": case.item_code,
                               "center": center, "state": case.state,
                               "on_date": event.on_date.isoformat(),
                               "decision": case.decision if event.action == "decide"
                               else None,
                               "notices": [n.label for n in notices]})
    log.info("case %s", event.action, extra={"case_id": case.id, "state": case.state})
    return Effects(tuple(notices), query_code)


def _deadline_dict(deadlines: Deadlines) -> dict[str, Any]:
    return {"committed_due": deadlines.committed_due.isoformat()
            if deadlines.committed_due else None,
            "legal_due": deadlines.legal_due.isoformat() if deadlines.legal_due else None}


def life_calendar_due(runtime: Runtime, repo: CaseRepository, issued_on: date) -> date:
    """By when the applicant is asked to supplement: N working days after the notice."""
    calendar = CalendarCache().get(repo.session)
    return calendar.add_working_days(issued_on,
                                     runtime.settings.supplement_working_days).day


# -- the service -----------------------------------------------------------------------------
class Lifecycle:
    """Transitions, deadlines and supervision over the database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._calendars = CalendarCache()

    # reading -------------------------------------------------------------------------
    def calendar(self, repo: CaseRepository) -> WorkCalendar:
        return self._calendars.get(repo.session)

    def life(self, case: Case, calendar: WorkCalendar, as_of: date | None = None, *,
             then: Standing | None = None) -> CaseLife:
        """The case and its deadlines as of a date (default today): as it stands now, or,
        given `then` (its events replayed up to a past day), as it stood that day."""
        as_of = as_of or self.runtime.clock.today()
        standing = then or Standing.of(case)
        clock = self._clock(case, standing)
        return CaseLife(
            state=standing.state, received_on=case.received_on,
            accepted_on=standing.accepted_on, decided_on=standing.decided_on,
            closed_on=case.closed_on if then is None else None,
            decision=case.decision if standing.decided_on else None,
            extension_days=standing.extension_days, pauses=list(case.pauses or []),
            outstanding=list(case.outstanding or []),
            deadlines=case_deadlines(clock, calendar, as_of), as_of=as_of)

    def _clock(self, case: Case, standing: Standing) -> CaseClock:
        try:
            item = self.runtime.catalog.item(case.item_code)
            committed, legal = item.committed_time_limit_days, item.legal_time_limit_days
            threshold = item.yellow_threshold_days
        except UnknownItemError:  # an item taken out of the catalog: judge by the notice only
            committed = legal = 0
            threshold = 1
        dues = [date.fromisoformat(o["due_on"]) for o in case.outstanding or []]
        return CaseClock(
            state=standing.state, received_on=case.received_on,
            notice_clock_from=standing.notice_clock_from, accepted_on=standing.accepted_on,
            decided_on=standing.decided_on, pauses=standing.pauses,
            extension_days=standing.extension_days, committed_days=committed,
            legal_days=legal, yellow_threshold=threshold,
            outstanding_due=min(dues) if dues and standing.accepted_on else None)

    def events(self, case_id: str, *, principal: Principal = OPERATOR) -> list[EventView]:
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case_for(session, principal, case_id)
            return [_masked(EventView.of(e), principal, self.runtime)
                    for e in repo.events_of_case(case_id)]

    # transitions ---------------------------------------------------------------------
    def record_receipt(self, repo: CaseRepository, case: Case, actor: Actor) -> CaseEvent:
        """The first event of every case: received at the window."""
        return repo.add_event(case, action="receive", from_state="", to_state=case.state,
                              on_date=case.received_on, key_id=actor.key_id,
                              actor=actor.name, role=actor.role, reason=None)

    def record_precheck(self, repo: CaseRepository, case: Case) -> CaseEvent | None:
        """A report was stored (the pipeline's call, in its transaction): a received case is
        now prechecked, and a returned case is back with its supplement, which restarts the
        notice clock (art. 32). Later states are left alone."""
        if case.state not in ("received", "prechecked", "returned"):
            return None
        return self._apply(repo, case, "precheck", SYSTEM_ACTOR,
                           ActionRequest(payload={"report_status": case.status}))[0]

    def record_resubmission(self, repo: CaseRepository, case: Case,
                            batch_id: str) -> CaseEvent | None:
        """A batch arrived for a returned case (the upload's call, in its transaction): the
        supplement is received, which restarts the notice clock (art. 32). Any other state is
        left alone."""
        if case.state != "returned":
            return None
        return self._apply(repo, case, "resubmit", SYSTEM_ACTOR,
                           ActionRequest(payload={"batch_id": batch_id}))[0]

    def transition(self, case_id: str, action: str, actor: Actor,
                   request: ActionRequest | None = None, *,
                   principal: Principal = OPERATOR) -> tuple[CaseLife, EventView]:
        """Take `action` on the case as `actor`; the case row is locked meanwhile, so two
        concurrent transitions of one case are applied one after the other."""
        if action not in ACTIONS or action in AUTOMATIC_ACTIONS:
            raise IntakeError("route.not_found")
        request = request or ActionRequest()
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = repo.lock_case(case_id)
            # Object-level access (intake.access): a clerk moves only the cases it handles.
            guard(principal, case, case_id, change=principal.role == "clerk")
            assert case is not None
            if action == "accept" and request.outstanding:
                action = "accept_tolerant"
            event, effects = self._apply(repo, case, action, actor, request)
            life = self.life(case, self.calendar(repo))
            view = _masked(EventView.of(event, effects), principal, self.runtime)
        log.info("case transition", extra={"case_id": case_id, "action": action,
                                           "state": life.state})
        return life, view

    def _apply(self, repo: CaseRepository, case: Case, action: str, actor: Actor,
               request: ActionRequest) -> tuple[CaseEvent, Effects]:
        today = self.runtime.clock.today()
        before = case.state
        after = plan_transition(before, action, actor.role, paused_from=case.paused_from)
        check_separation_of_duties(action, actor, accepted_by=case.accepted_by,
                                   reviewed_by=case.reviewed_by)
        reason = (request.reason or "").strip() or None
        payload: dict[str, Any] = dict(request.payload)
        if action in ("refuse", "pause", "extend") and reason is None:
            raise IntakeError("case.reason_required", action=action,
                              action_zh=ACTION_NAMES[action])
        if action in ("precheck", "resubmit"):
            if before == "returned":
                case.notice_clock_from = today
        elif action == "return":
            # What the one-time notice will list: the report's missing and invalid slots.
            slots = (case.report or {}).get("slots") or []
            payload["report_status"] = case.status
            payload["to_supplement"] = [
                s.get("code") for s in slots
                if isinstance(s, dict) and s.get("state") in ("missing", "invalid")]
        elif action in ("accept", "accept_tolerant"):
            case.accepted_on, case.accepted_by = today, actor.key_id
            if action == "accept_tolerant":
                case.outstanding = self._outstanding(case, request.outstanding, today)
                payload["outstanding"] = case.outstanding
        elif action == "review":
            case.reviewed_by = actor.key_id
        elif action == "decide":
            if request.decision not in ("approve", "deny"):
                raise IntakeError("case.decision_invalid")
            if request.decision == "deny" and reason is None:
                raise IntakeError("case.reason_required", action="deny",
                                  action_zh="不予许可")
            case.decision, case.decided_on, case.decided_by = (
                request.decision, today, actor.key_id)
            payload["decision"] = request.decision
        elif action == "close":
            case.closed_on = today
        elif action == "pause":
            case.paused_from = before
            case.pauses = [*(case.pauses or []),
                           {"from": today.isoformat(), "to": None, "reason": reason}]
        elif action == "resume":
            pauses = [dict(p) for p in case.pauses or []]
            if pauses and pauses[-1].get("to") is None:
                pauses[-1]["to"] = today.isoformat()
            case.pauses, case.paused_from = pauses, None
        elif action == "extend":
            if case.extension_days:
                raise IntakeError("case.already_extended")
            days = request.days
            if days is None or not 1 <= days <= MAX_EXTENSION_DAYS:
                raise IntakeError("case.extension_invalid", limit=MAX_EXTENSION_DAYS)
            case.extension_days = days
            payload["days"] = days
        case.state = after
        event = repo.add_event(case, action=action, from_state=before, to_state=after,
                               on_date=today, key_id=actor.key_id, actor=actor.name,
                               role=actor.role, reason=reason, payload=payload)
        effects = on_transition(self.runtime, repo, case, event,
                                self.life(case, self.calendar(repo), today))
        return event, effects

    def _outstanding(self, case: Case, items: Iterable[Outstanding], today: date
                     ) -> list[dict[str, Any]]:
        item = self.runtime.catalog.item(case.item_code)
        slots = {s.code for s in item.slots}
        result = []
        for entry in items:
            if entry.slot not in slots:
                raise IntakeError("case.outstanding_invalid",
                                  detail_zh=f"事项没有材料 {entry.slot}",
                                  detail_en=f"no slot {entry.slot} in item {item.code}")
            if entry.due_on <= today:
                raise IntakeError("case.outstanding_invalid",
                                  detail_zh=f"补交日期 {entry.due_on} 须晚于今天",
                                  detail_en=f"due date {entry.due_on} must be after today")
            if not entry.commitment.strip():
                raise IntakeError("case.outstanding_invalid", detail_zh="缺少申请人的承诺",
                                  detail_en="the applicant's commitment is missing")
            result.append({"slot": entry.slot, "name": item.slot(entry.slot).name,
                           "due_on": entry.due_on.isoformat(),
                           "commitment": entry.commitment.strip()})
        return result

    # supervision ---------------------------------------------------------------------
    def supervision(self, as_of: date | None = None, light: str | None = None, *,
                    principal: Principal = OPERATOR) -> Supervision:
        """Open cases with their light as of a date, most urgent first, and counts by item
        and light (the counts cover every open case, whatever `light` filters)."""
        as_of = as_of or self.runtime.clock.today()
        rows: list[SupervisedCase] = []
        counts: dict[str, Counter[str]] = {}
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            calendar = self.calendar(repo)
            for case, then in self._open_on(repo, as_of):
                if not may_open(principal, case):
                    continue  # another center's, or routed to another reviewer
                life = self.life(case, calendar, as_of, then=then)
                colour = life.deadlines.light or "green"
                counts.setdefault(case.item_code, Counter())[colour] += 1
                if light is None or colour == light:
                    rows.append(SupervisedCase(case.id, case.number, case.item_code,
                                               self._item_name(case.item_code), life))
        rows.sort(key=lambda r: (*r.life.deadlines.urgency, r.life.received_on, r.number))
        by_item = {code: {c: n[c] for c in LIGHTS} for code, n in sorted(counts.items())}
        totals = {c: sum(n[c] for n in counts.values()) for c in LIGHTS}
        return Supervision(as_of, rows, by_item, totals)

    def _open_on(self, repo: CaseRepository, as_of: date
                 ) -> Iterator[tuple[Case, Standing | None]]:
        """The cases open on `as_of`: today and later, those open now; for a past day,
        those received by then and not yet refused, withdrawn or closed then, with their
        events replayed up to that day."""
        if as_of >= self.runtime.clock.today():
            for case in repo.cases_in_states(OPEN_STATES):
                if case.received_on <= as_of:
                    yield case, None
            return
        cases = repo.cases_received_by(as_of)
        events = repo.events_of_cases([c.id for c in cases])
        for case in cases:
            then = Standing.replay(events[case.id], as_of)
            if then is None:  # a case from before events were kept: its present state
                if case.state in OPEN_STATES:
                    yield case, None
            elif then.state in OPEN_STATES:
                yield case, then

    def light_counts(self) -> dict[str, int]:
        """Open cases by light today: the Prometheus gauge."""
        return self.supervision().totals

    def _item_name(self, code: str) -> str:
        try:
            return self.runtime.catalog.item(code).name
        except UnknownItemError:
            return code


def _masked(view: EventView, principal: Principal, runtime: Runtime) -> EventView:
    """An event as the principal's role may see it: a typed reason or a payload may quote
    an ID number (intake.masking)."""
    from dataclasses import replace

    from intake.masking import Masker

    masker = Masker(principal.role, runtime.catalog)
    if masker.full:
        return view
    return replace(view, reason=masker.text(view.reason) if view.reason else view.reason,
                   payload=masker.deep(view.payload))
