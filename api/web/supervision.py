"""The supervision board (督办, admins and approvers): open cases by item and light, the
red and yellow lists, and cases received and closed per working day as a server-rendered
SVG chart. Read through `Lifecycle.supervision` with the person's principal: a board shows
only the cases its viewer may open."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.pages import render, requires
from api.web.window import LIGHT_WORDS, _service
from intake.casepages import daily_flow, flow_chart
from intake.lifecycle import LIGHTS, STATE_NAMES

router = APIRouter(include_in_schema=False)
Supervisor = Annotated[Any, requires("admin", "approver")]


@router.get("/supervision", response_class=HTMLResponse)
def board(request: Request, person: Supervisor) -> HTMLResponse:
    service = _service(request)
    view = service.lifecycle.supervision(principal=person.principal)
    names = {code: item.name for code, item in service.runtime.catalog.items.items()}
    flow = daily_flow(service.runtime, person.principal)
    return render(request, "supervision.html", person, board=view, lights=LIGHTS,
                  light_words=LIGHT_WORDS, item_names=names, state_names=STATE_NAMES,
                  red=[c for c in view.cases if c.life.deadlines.light == "red"],
                  yellow=[c for c in view.cases if c.life.deadlines.light == "yellow"],
                  flow=flow, chart=flow_chart(flow))
