"""The window (窗口受理): find an item and open a case, upload the applicant's scans, watch
them being read, see what must be rescanned, read the material checklist slot by slot, and
then issue the one-time notice, accept, accept with a material outstanding, or refuse —
each notice printed from its stored record.

Everything goes through the same services as the API (`IntakeService`, `Lifecycle`,
`NoticeService`), as the signed-in person's principal: the same access rule, masking and
audit apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.guard import streamed_upload
from api.uploads import upload_batch_streamed
from api.web.pages import Acting, Person, render, requires
from intake.accounts import check_csrf
from intake.casepages import page_thumbnail, recent_cases, rescan_list
from intake.errors import IntakeError
from intake.lifecycle import STATE_NAMES, ActionRequest, Actor, Lifecycle, Outstanding
from intake.notices import NoticeService
from intake.service import IntakeService

router = APIRouter(include_in_schema=False)

WINDOW_ROLES = ("clerk", "admin")
READERS = ("clerk", "reviewer", "approver", "admin")
Clerk = Annotated[Any, requires(*WINDOW_ROLES)]
Reader = Annotated[Any, requires(*READERS)]

STATE_WORDS = {
    "present": "已提交", "reused": "免提交", "committed": "告知承诺",
    "not_required": "无需提交", "missing": "缺少", "invalid": "不符合要求",
    "needs_review": "待人工核对",
}
LIGHT_WORDS = {"green": "绿灯（正常）", "yellow": "黄灯（临近时限）", "red": "红灯（已超时）"}


def _service(request: Request) -> IntakeService:
    service: IntakeService = request.app.state.service
    return service


def _lifecycle(request: Request) -> Lifecycle:
    return _service(request).lifecycle


def _case_context(request: Request, case_id: str, person: Any) -> dict[str, Any]:
    service = _service(request)
    principal = person.principal
    # Taken before what it marks is read: a change after it shows at the next wait.
    mark = service.progress_mark(case_id, principal=principal)
    case = service.get_case(case_id, principal=principal)
    report = service.case_report(case_id, principal=principal)
    batches = [service.batch_progress(b, principal=principal) for b in case.batch_ids]
    processing = any(not b.finished for b in batches)
    notices = NoticeService(service.runtime).of_case(case_id, principal=principal)
    # A slot names its documents; the pages are the documents' (the case's page numbers).
    pages_of = {d.get("id"): d.get("pages") or [] for d in report.get("documents", [])}
    slots = []
    for slot in report.get("slots", []):
        findings = [str(f.get("message", "")).split("(", 1)[0]
                    for f in slot.get("findings", []) if f.get("message")]
        slots.append({"code": slot.get("code"), "name": slot.get("name"),
                      "state": slot.get("state"),
                      "state_words": STATE_WORDS.get(str(slot.get("state")), slot.get("state")),
                      "pages": [n for doc in slot.get("documents") or []
                                for n in pages_of.get(doc, [])],
                      "findings": findings,
                      "certificate": slot.get("certificate"),
                      "commitment_allowed": slot.get("commitment_allowed")})
    life = case.life
    return {"case": case, "report": report, "slots": slots, "batches": batches,
            "processing": processing, "mark": mark, "notices": notices, "life": life,
            "state_words": STATE_NAMES.get(life.state, life.state) if life else "",
            "light_words": LIGHT_WORDS.get(str(life.deadlines.light), "") if life else "",
            "rescan": rescan_list(service.runtime, case_id, principal),
            "outstanding_slots": [s for s in slots
                                  if s["state"] in ("missing", "invalid")]}


@router.get("/window", response_class=HTMLResponse)
def window(request: Request, person: Clerk) -> HTMLResponse:
    catalog = _service(request).runtime.catalog
    items = sorted(catalog.items.values(), key=lambda i: i.code)
    cases = recent_cases(_service(request).runtime, person.principal)
    return render(request, "window.html", person, items=items, cases=cases, error=None)


@router.post("/window/cases")
def open_case(request: Request, person: Acting,
              item: Annotated[str, Form(max_length=200)],
              applicant: Annotated[str, Form(max_length=100)] = "",
              phone: Annotated[str, Form(max_length=30)] = "") -> Response:
    if person.role not in WINDOW_ROLES:
        raise IntakeError("auth.forbidden_role", role=person.role)
    catalog = _service(request).runtime.catalog
    wanted = item.strip()
    code = next((i.code for i in catalog.items.values()
                 if wanted in (i.code, i.name, f"{i.code} {i.name}")), None)
    if code is None:
        matches = [i.code for i in catalog.items.values() if wanted and wanted in i.name]
        code = matches[0] if len(matches) == 1 else None
    if code is None:
        items = sorted(catalog.items.values(), key=lambda i: i.code)
        cases = recent_cases(_service(request).runtime, person.principal)
        return render(request, "window.html", person, items=items, cases=cases,
                      error=IntakeError("item.unknown", item_code=wanted).message,
                      status_code=404)
    facts = {k: v.strip() for k, v in (("applicant_name", applicant), ("phone", phone))
             if v.strip()}
    view = _service(request).create_case(code, facts=facts or None,
                                         principal=person.principal)
    return RedirectResponse(f"/cases/{view.id}", status_code=303)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: str, request: Request, person: Reader) -> HTMLResponse:
    return render(request, "case.html", person, issued=None, query_code=None,
                  **_case_context(request, case_id, person))


LIVE_WAIT = 25.0
"""Seconds a progress request is held open at most when nothing moves (then answered
unchanged, and the page asks again): below common proxies' idle timeouts."""
LIVE_STEP = 0.2
"""Seconds between two looks at the case's progress mark while a request is held."""


@router.get("/cases/{case_id}/live", response_class=HTMLResponse)
async def case_live(case_id: str, request: Request, person: Reader,
                    after: Annotated[str | None, Query(max_length=64)] = None
                    ) -> Response:
    """The progress, rescan list and checklist while pages are being read. With `after`
    (the mark the page shows), the answer waits until the case moves past it — a page
    read, the batch finished — or `LIVE_WAIT` passes: the page learns of a finished
    batch within `LIVE_STEP` seconds, and is re-rendered only when something changed."""
    service = _service(request)
    principal = person.principal
    if after is not None:
        deadline = anyio.current_time() + LIVE_WAIT
        while await run_in_threadpool(
                lambda: service.progress_mark(case_id, principal=principal)) == after:
            if anyio.current_time() >= deadline or await request.is_disconnected():
                break
            await anyio.sleep(LIVE_STEP)
    return await run_in_threadpool(lambda: render(
        request, "case_live.html", person, **_case_context(request, case_id, person)))


@router.post("/cases/{case_id}/upload")
@streamed_upload  # the request guard allows it the upload total, not the JSON limit
async def upload(case_id: str, request: Request, person: Person) -> Response:
    """The scans as they stream in: each file is stored and its pages start being read
    while the next is still arriving (`api.uploads`). The form's CSRF token (the htmx
    header, or the field the form sends before its files) is checked before any file is
    stored."""
    if person.role not in WINDOW_ROLES:
        raise IntakeError("auth.forbidden_role", role=person.role)
    presented = request.headers.get("X-CSRF-Token")

    def check(fields: Mapping[str, str]) -> None:
        check_csrf(person, presented if presented is not None else fields.get("csrf_token"))

    await upload_batch_streamed(request, _service(request), case_id,
                                principal=person.principal, check=check, fields=1,
                                skip_unnamed=True)
    return _back(request, case_id)


def _back(request: Request, case_id: str) -> Response:
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": f"/cases/{case_id}"})
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _actor(person: Any) -> Actor:
    return Actor(person.key_id, person.name, person.role)


def _transition(request: Request, case_id: str, person: Any, action: str,
                body: ActionRequest) -> Any:
    return _lifecycle(request).transition(case_id, action, _actor(person), body,
                                          principal=person.principal)


@router.post("/cases/{case_id}/one-time-notice")
def one_time_notice(case_id: str, request: Request, person: Acting) -> Response:
    """补正: issue the one-time notice and open it for printing."""
    _, event = _transition(request, case_id, person, "return", ActionRequest())
    return _after(request, case_id, person, event)


@router.post("/cases/{case_id}/accept")
def accept(case_id: str, request: Request, person: Acting) -> Response:
    _, event = _transition(request, case_id, person, "accept", ActionRequest())
    return _after(request, case_id, person, event)


@router.post("/cases/{case_id}/accept-tolerant")
def accept_tolerant(case_id: str, request: Request, person: Acting,
                    slot: Annotated[str, Form(max_length=100)],
                    due_on: Annotated[date, Form()],
                    commitment: Annotated[str, Form(min_length=1, max_length=2000)]
                    ) -> Response:
    _, event = _transition(request, case_id, person, "accept",
                           ActionRequest(outstanding=(Outstanding(slot, due_on, commitment),)))
    return _after(request, case_id, person, event)


@router.post("/cases/{case_id}/refuse")
def refuse(case_id: str, request: Request, person: Acting,
           reason: Annotated[str, Form(min_length=1, max_length=2000)]) -> Response:
    _, event = _transition(request, case_id, person, "refuse", ActionRequest(reason=reason))
    return _after(request, case_id, person, event)


def _after(request: Request, case_id: str, person: Any, event: Any) -> Response:
    """After a transition: the case page, with the notice just issued to print and, for an
    acceptance, the applicant's query code, shown this once (never put in a URL)."""
    context = _case_context(request, case_id, person)
    issued = event.notices[0].id if event.notices else None
    return render(request, "case.html", person, issued=issued,
                  query_code=event.query_code, canonical_url=f"/cases/{case_id}", **context)


@router.get("/cases/{case_id}/notices/{notice_id}.pdf")
def notice_pdf(case_id: str, notice_id: str, request: Request, person: Reader) -> Response:
    """The stored notice, byte for byte, for printing from the page."""
    service = _service(request)
    service.get_case(case_id, principal=person.principal)  # the access rule
    view, data = NoticeService(service.runtime).pdf(notice_id, principal=person.principal)
    if view["case_id"] != case_id:
        raise IntakeError("notice.not_found", notice_id=notice_id)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{notice_id}.pdf"'})


@router.get("/cases/{case_id}/pages/{page_id}/thumbnail.png")
def thumbnail(case_id: str, page_id: str, request: Request, person: Reader) -> Response:
    data = page_thumbnail(_service(request).runtime, case_id, page_id, person.principal)
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})

