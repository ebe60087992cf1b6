"""The reviewer's workbench (审查): a queue of cases to review, most urgent first, with
their light; and a case in three panes — the page image with its OCR boxes in one SVG, the
extracted fields of each material with value, confidence and provenance, and the material
checklist. A reviewer corrects a field with a reason (the checklist updates in place),
confirms a certificate material into the shared store, and ends the review with a
recommendation. Decisions stay the approver's: no decide control is ever shown here.

Everything goes through the API's services (`IntakeService.correct_field`,
`CertificateService.verify_document`, `Lifecycle.transition`) as the signed-in person's
principal, with the same access rule, masking and audit.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.web.pages import Acting, render, requires
from api.web.window import LIGHT_WORDS, _case_context, _service
from intake.casepages import page_image, review_materials, review_pages, stored_from_case
from intake.certificates import CertificateService
from intake.errors import IntakeError
from intake.lifecycle import STATE_NAMES, ActionRequest, Actor

router = APIRouter(include_in_schema=False)

REVIEW_ROLES = ("reviewer", "approver", "admin")
VERIFY_ROLES = ("reviewer", "admin")  # as the API's verify route
QUEUE_STATES = frozenset({"prechecked", "accepted", "accepted_tolerant", "under_review"})
RECOMMENDATIONS = {"approve": "建议准予许可", "deny": "建议不予许可"}
Reviewer = Annotated[Any, requires(*REVIEW_ROLES)]


def _check_role(person: Any, roles: tuple[str, ...]) -> None:
    if person.role not in roles:
        raise IntakeError("auth.forbidden_role", role=person.role)


@router.get("/review", response_class=HTMLResponse)
def queue(request: Request, person: Reviewer) -> HTMLResponse:
    """待审查: the open cases this person may review, most urgent first."""
    board = _service(request).lifecycle.supervision(principal=person.principal)
    cases = [c for c in board.cases if c.life.state in QUEUE_STATES]
    return render(request, "review_queue.html", person, cases=cases,
                  state_names=STATE_NAMES, light_words=LIGHT_WORDS)


def _review_context(request: Request, case_id: str, person: Any) -> dict[str, Any]:
    context = _case_context(request, case_id, person)
    runtime = _service(request).runtime
    pages = review_pages(runtime, case_id, person.principal)
    materials = review_materials(runtime, context["report"], pages)
    boxes: dict[int, list[Any]] = {}
    for material in materials:
        for f in material.fields:
            if f.page is not None and f.box is not None:
                boxes.setdefault(f.page, []).append(f)
    reused = [s for s in context["slots"] if s["state"] == "reused"]
    stored = stored_from_case(runtime, case_id, person.principal)
    return {**context, "pages": pages, "materials": materials, "field_boxes": boxes,
            "reused": reused, "stored": stored,
            "problems": sum(1 for m in materials for f in m.fields if f.problem),
            "may_verify": person.role in VERIFY_ROLES,
            "recommendations": RECOMMENDATIONS}


@router.get("/review/{case_id}", response_class=HTMLResponse)
def workbench(case_id: str, request: Request, person: Reviewer) -> HTMLResponse:
    return render(request, "review.html", person, verified=None,
                  **_review_context(request, case_id, person))


@router.post("/review/{case_id}/correction", response_class=HTMLResponse)
def correct(case_id: str, request: Request, person: Acting,
            document_id: Annotated[str, Form(max_length=36)] = "",
            field: Annotated[str, Form(max_length=100)] = "",
            value: Annotated[str, Form(max_length=500)] = "",
            reason: Annotated[str, Form(max_length=500)] = "") -> HTMLResponse:
    """更正: the correction through the API's service; answers the fields and the
    checklist again (htmx swaps them in place), or the error in words."""
    _check_role(person, REVIEW_ROLES)
    error = None
    try:
        if not document_id or not field:
            raise IntakeError("correction.no_field")
        _service(request).correct_field(case_id, document_id, field, value, reason,
                                        principal=person.principal)
    except IntakeError as exc:
        if exc.status == 404 and exc.code == "case.not_found":
            raise
        error = exc.message
    return render(request, "review_data.html", person, verified=None, error=error,
                  corrected=None if error else f"{document_id}.{field}",
                  **_review_context(request, case_id, person))


@router.post("/review/{case_id}/confirmation", response_class=HTMLResponse)
def confirm(case_id: str, request: Request, person: Acting,
            document_id: Annotated[str, Form(max_length=36)] = "",
            field: Annotated[str, Form(max_length=100)] = "") -> HTMLResponse:
    """确认并下一项 (Ctrl+Enter): the field checked against the paper, confirmed as read."""
    _check_role(person, REVIEW_ROLES)
    error = None
    try:
        if not document_id or not field:
            raise IntakeError("correction.no_field")
        _service(request).confirm_field(case_id, document_id, field,
                                        principal=person.principal)
    except IntakeError as exc:
        if exc.status == 404 and exc.code == "case.not_found":
            raise
        error = exc.message
    return render(request, "review_data.html", person, verified=None, error=error,
                  corrected=None, **_review_context(request, case_id, person))


@router.post("/review/{case_id}/documents/{document_id}/verify",
             response_class=HTMLResponse)
def verify(case_id: str, document_id: str, request: Request, person: Acting) -> HTMLResponse:
    """确认入库: the certificate material enters the shared store (audited)."""
    _check_role(person, VERIFY_ROLES)
    certificates: CertificateService = request.app.state.certificates
    error = verified = None
    try:
        view, _ = certificates.verify_document(case_id, document_id, person.principal)
        verified = {"document": document_id, "id": view.id}
    except IntakeError as exc:
        if exc.status == 404 and exc.code == "case.not_found":
            raise
        error = exc.message
    return render(request, "review_data.html", person, verified=verified, error=error,
                  corrected=None, **_review_context(request, case_id, person))


@router.post("/review/{case_id}/recommendation", response_class=HTMLResponse)
def recommend(case_id: str, request: Request, person: Acting,
              recommendation: Annotated[str, Form(max_length=20)],
              opinion: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """The review ends in a recommendation (the `review` transition, its words as the
    event's reason); the decision is the approver's."""
    _check_role(person, ("reviewer", "approver"))
    if recommendation not in RECOMMENDATIONS:
        raise IntakeError("case.decision_invalid")
    words = RECOMMENDATIONS[recommendation] + (f"：{opinion.strip()}" if opinion.strip()
                                               else "")
    _service(request).lifecycle.transition(
        case_id, "review", Actor(person.key_id, person.name, person.role),
        ActionRequest(reason=words, payload={"recommendation": recommendation}),
        principal=person.principal)
    return render(request, "review.html", person, verified=None,
                  canonical_url=f"/review/{case_id}", recommended=words,
                  **_review_context(request, case_id, person))


@router.get("/review/{case_id}/pages/{page_id}/image.png")
def image(case_id: str, page_id: str, request: Request, person: Reviewer) -> Response:
    data = page_image(_service(request).runtime, case_id, page_id, person.principal)
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})
