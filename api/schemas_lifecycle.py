"""What the lifecycle routes accept and return: transitions, events, deadlines and
supervision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from intake.lifecycle import CaseLife, EventView, SupervisedCase, Supervision
from rules.deadlines import Deadlines


class DeadlinesPublic(BaseModel):
    notice_due: date | None = Field(
        description="Art. 32: accept or issue the one-time notice by this day (5 working "
                    "days after receipt, the day of receipt not counted); only while the "
                    "case awaits it")
    committed_due: date | None = Field(description="承诺时限, from acceptance, shifted by "
                                                   "pauses and an extension")
    legal_due: date | None = Field(description="法定时限 (art. 42), likewise")
    working_days_left: int | None = Field(
        description="Working days to the running limit: 0 on the due day, negative past it")
    light: Literal["green", "yellow", "red"] | None
    provisional: bool = Field(description="Some day counted lies in a year whose holiday "
                                          "schedule is not loaded yet")
    deemed_accepted: bool = Field(description="Past notice_due without notice or acceptance: "
                                              "the application counts as accepted")
    paused: bool
    outstanding_due: date | None = Field(description="容缺: the earliest date the applicant "
                                                     "promised to bring outstanding material")

    @classmethod
    def of(cls, deadlines: Deadlines) -> DeadlinesPublic:
        return cls(**deadlines.__dict__)


class LifePublic(BaseModel):
    state: str
    received_on: date
    accepted_on: date | None
    decided_on: date | None
    closed_on: date | None
    decision: str | None
    extension_days: int
    pauses: list[dict[str, Any]]
    outstanding: list[dict[str, Any]]
    deadlines: DeadlinesPublic
    as_of: date

    @classmethod
    def of(cls, life: CaseLife) -> LifePublic:
        return cls(**{**life.__dict__, "deadlines": DeadlinesPublic.of(life.deadlines)})


class NoticeRefPublic(BaseModel):
    id: str
    kind: str = Field(description="one_time / acceptance / tolerant / refusal")
    number: str


class EventPublic(BaseModel):
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
    notices: list[NoticeRefPublic] = Field(
        default_factory=list, description="notices this transition issued")

    @classmethod
    def of(cls, event: EventView) -> EventPublic:
        data = {k: v for k, v in event.__dict__.items() if k not in ("notices", "query_code")}
        return cls(**data, notices=[NoticeRefPublic(id=n.id, kind=n.kind, number=n.label)
                                    for n in event.notices])


class TransitionPublic(BaseModel):
    case_id: str
    state: str
    event: EventPublic
    life: LifePublic
    query_code: str | None = Field(
        default=None, description="the applicant's progress query code: in the answer to "
                                  "the acceptance only, never shown again")


class ActionBody(BaseModel):
    reason: str | None = Field(default=None, max_length=2000,
                               description="Why: required to refuse, pause, extend, deny")


class OutstandingBody(BaseModel):
    slot: str = Field(max_length=100, description="The item's slot code of the material")
    due_on: date = Field(description="The date the applicant promises to bring it by")
    commitment: str = Field(min_length=1, max_length=2000,
                            description="The applicant's written commitment (承诺)")


class AcceptBody(ActionBody):
    outstanding: list[OutstandingBody] = Field(
        default_factory=list, max_length=50,
        description="容缺受理: secondary materials accepted as outstanding")


class DecideBody(ActionBody):
    decision: Literal["approve", "deny"] = Field(description="准予许可 / 不予许可")


class ExtendBody(ActionBody):
    days: int = Field(ge=1, le=10, description="Working days, at most 10 (art. 42), once")


class SupervisedCasePublic(BaseModel):
    case_id: str
    number: str
    item_code: str
    item_name: str
    state: str
    received_on: date
    accepted_on: date | None
    deadlines: DeadlinesPublic

    @classmethod
    def of(cls, row: SupervisedCase) -> SupervisedCasePublic:
        return cls(case_id=row.case_id, number=row.number, item_code=row.item_code,
                   item_name=row.item_name, state=row.life.state,
                   received_on=row.life.received_on, accepted_on=row.life.accepted_on,
                   deadlines=DeadlinesPublic.of(row.life.deadlines))


class SupervisionPublic(BaseModel):
    as_of: date
    cases: list[SupervisedCasePublic] = Field(description="Most urgent first")
    counts: dict[str, dict[str, int]] = Field(description="item code -> light -> open cases")
    totals: dict[str, int]

    @classmethod
    def of(cls, supervision: Supervision) -> SupervisionPublic:
        return cls(as_of=supervision.as_of,
                   cases=[SupervisedCasePublic.of(r) for r in supervision.cases],
                   counts=supervision.counts, totals=supervision.totals)
