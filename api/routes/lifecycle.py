"""The life of a case over HTTP: one POST per transition, the case's events, and the
supervision board. Which role may take which action from which state is decided by the
state machine (`intake.lifecycle.TRANSITIONS`), not here: the routes only admit the roles
that take part in case work at all, and translate bodies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.auth import CaseActor, CaseReader, Principal, Supervisor
from api.schemas_lifecycle import (
    AcceptBody,
    ActionBody,
    DecideBody,
    EventPublic,
    ExtendBody,
    LifePublic,
    SupervisionPublic,
    TransitionPublic,
)
from intake.lifecycle import ActionRequest, Actor, CaseLife, EventView, Lifecycle, Outstanding
from intake.service import IntakeService

router = APIRouter(tags=["lifecycle"])


def _lifecycle(request: Request) -> Lifecycle:
    service: IntakeService = request.app.state.service
    return service.lifecycle


def _actor(principal: Principal) -> Actor:
    return Actor(principal.key_id, principal.name, principal.role)


def _answer(case_id: str, result: tuple[CaseLife, EventView]) -> TransitionPublic:
    life, event = result
    return TransitionPublic(case_id=case_id, state=life.state, event=EventPublic.of(event),
                            life=LifePublic.of(life), query_code=event.query_code)


def _simple(action: str, case_id: str, request: Request, principal: Principal,
            body: ActionBody | None) -> TransitionPublic:
    reason = body.reason if body else None
    return _answer(case_id, _lifecycle(request).transition(
        case_id, action, _actor(principal), ActionRequest(reason=reason),
        principal=principal))


@router.post("/cases/{case_id}/accept", response_model=TransitionPublic)
def accept(case_id: str, request: Request, principal: CaseActor,
           body: AcceptBody | None = None) -> TransitionPublic:
    """受理; with `outstanding` material, 容缺受理 (accepted_tolerant)."""
    body = body or AcceptBody()
    outstanding = tuple(Outstanding(o.slot, o.due_on, o.commitment) for o in body.outstanding)
    return _answer(case_id, _lifecycle(request).transition(
        case_id, "accept", _actor(principal),
        ActionRequest(reason=body.reason, outstanding=outstanding), principal=principal))


@router.post("/cases/{case_id}/return", response_model=TransitionPublic)
def return_for_supplement(case_id: str, request: Request, principal: CaseActor,
                          body: ActionBody | None = None) -> TransitionPublic:
    """补正: the one-time notice; a later batch brings the case back to prechecked."""
    return _simple("return", case_id, request, principal, body)


@router.post("/cases/{case_id}/refuse", response_model=TransitionPublic)
def refuse(case_id: str, request: Request, principal: CaseActor,
           body: ActionBody | None = None) -> TransitionPublic:
    """不予受理, with the reason."""
    return _simple("refuse", case_id, request, principal, body)


@router.post("/cases/{case_id}/review", response_model=TransitionPublic)
def review(case_id: str, request: Request, principal: CaseActor,
           body: ActionBody | None = None) -> TransitionPublic:
    """审查 begins (reviewer)."""
    return _simple("review", case_id, request, principal, body)


@router.post("/cases/{case_id}/decide", response_model=TransitionPublic)
def decide(case_id: str, body: DecideBody, request: Request,
           principal: CaseActor) -> TransitionPublic:
    """准予 / 不予许可 (approver; not whoever accepted or reviewed the case)."""
    return _answer(case_id, _lifecycle(request).transition(
        case_id, "decide", _actor(principal),
        ActionRequest(reason=body.reason, decision=body.decision), principal=principal))


@router.post("/cases/{case_id}/close", response_model=TransitionPublic)
def close(case_id: str, request: Request, principal: CaseActor,
          body: ActionBody | None = None) -> TransitionPublic:
    """办结: the decision delivered."""
    return _simple("close", case_id, request, principal, body)


@router.post("/cases/{case_id}/withdraw", response_model=TransitionPublic)
def withdraw(case_id: str, request: Request, principal: CaseActor,
             body: ActionBody | None = None) -> TransitionPublic:
    """撤回, at the applicant's request, from any open state."""
    return _simple("withdraw", case_id, request, principal, body)


@router.post("/cases/{case_id}/pause", response_model=TransitionPublic)
def pause(case_id: str, request: Request, principal: CaseActor,
          body: ActionBody | None = None) -> TransitionPublic:
    """Stop the clock (art. 45: hearing, inspection, expert review), with the reason."""
    return _simple("pause", case_id, request, principal, body)


@router.post("/cases/{case_id}/resume", response_model=TransitionPublic)
def resume(case_id: str, request: Request, principal: CaseActor,
           body: ActionBody | None = None) -> TransitionPublic:
    """Restart the clock; the case returns to the state it was paused in."""
    return _simple("resume", case_id, request, principal, body)


@router.post("/cases/{case_id}/extend", response_model=TransitionPublic)
def extend(case_id: str, body: ExtendBody, request: Request,
           principal: CaseActor) -> TransitionPublic:
    """Extend the limits once by at most 10 working days (art. 42), with the reason."""
    return _answer(case_id, _lifecycle(request).transition(
        case_id, "extend", _actor(principal), ActionRequest(reason=body.reason,
                                                            days=body.days),
        principal=principal))


@router.get("/cases/{case_id}/events", response_model=list[EventPublic])
def events(case_id: str, request: Request, principal: CaseReader) -> list[EventPublic]:
    return [EventPublic.of(e) for e in _lifecycle(request).events(case_id,
                                                                  principal=principal)]


@router.get("/supervision", response_model=SupervisionPublic)
def supervision(
    request: Request, principal: Supervisor,
    as_of: Annotated[date | None, Query(description="YYYY-MM-DD; default: today in the "
                                                    "center's time zone")] = None,
    light: Annotated[Literal["green", "yellow", "red"] | None, Query()] = None,
) -> SupervisionPublic:
    """电子监察: open cases with their light, most urgent first, and counts by item and
    light."""
    return SupervisionPublic.of(_lifecycle(request).supervision(as_of, light,
                                                                principal=principal))
