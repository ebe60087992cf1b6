"""The authorization matrix, generated from the app's route table: every route × every
role × own center / other center × the case one handles / a colleague's case / a case
routed to another reviewer, against the outcome declared for the route in `API` below.

A route the table does not declare fails the test (so does a declared route that no
longer exists): adding a route means deciding, here, who may reach it.

Outcomes, read from the response:
* `open` — the caller got past every access check (2xx, or a domain answer such as 409
  "not in this state" or 422 "bad body");
* `role` — 403 `auth.forbidden_role`: the role may not do this;
* `hidden` — 404 (or 422 for a `case_ref`) exactly as for something that does not exist;
* `not_yours` — 403 `case.not_yours`: a clerk's colleague's case, visible but not theirs;
* `unauthenticated` — 401.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from tests.api.centers import SYSTEM_PURPOSE, TwoCenters, two_centers
from tests.certificates.packets import ITEM, packet, resident_id

CASE_READERS = frozenset({"clerk", "reviewer", "approver", "admin"})
CASE_WRITERS = frozenset({"clerk", "admin"})
CASE_ACTORS = CASE_READERS
EVERYONE = frozenset({"clerk", "reviewer", "approver", "admin", "system"})
ADMINS = frozenset({"admin"})
GLOBAL_ONLY = frozenset({"global"})  # admins of every center only
HIDDEN_CODES = {"case.not_found", "batch.not_found", "notice.not_found", "apikey.not_found",
                "certificate.case_ref_invalid", "stack.not_found", "inbox.page_not_found"}


@dataclass(frozen=True)
class Rule:
    """Who may reach a route: the roles admitted, the object the path names (`case`,
    `batch`, `notice`, `key`, `case_ref` for the certificate store, or None), whether
    changing that case needs its handling clerk, whether the route is public (no key),
    whether a further role rule decides after the object checks (the lifecycle's state
    table: its own tests cover it; here `open` then also admits `role`), and the body."""

    roles: frozenset[str]
    obj: str | None = None
    change: bool = False
    public: bool = False
    deep_roles: bool = False  # a further role rule decides after the object checks
    body: Callable[[Target], Any] | None = None
    files: bool = False


@dataclass
class Target:
    """One center's objects, as the paths and bodies name them."""

    center: str
    case_id: str
    case_number: str
    batch_id: str
    document_id: str
    notice_id: str
    cert_id: str
    holder: str
    spare_key_id: int
    reviewer_key_id: int
    stack_id: str
    page_id: str
    counter: Iterator[int] = field(default_factory=itertools.count)


def _reason(_: Target) -> dict[str, Any]:
    return {"reason": "matrix"}


API: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/cases"): Rule(CASE_WRITERS, body=lambda t: {"item_code": ITEM}),
    ("GET", "/api/v1/cases/{case_id}"): Rule(CASE_READERS, "case"),
    ("POST", "/api/v1/cases/{case_id}/assignment"): Rule(
        CASE_WRITERS, "case", change=True,
        body=lambda t: {"reviewer_key_id": t.reviewer_key_id}),
    ("POST", "/api/v1/cases/{case_id}/batches"): Rule(CASE_WRITERS, "case", change=True,
                                                       files=True),
    ("GET", "/api/v1/batches/{batch_id}"): Rule(CASE_READERS, "batch"),
    ("POST", "/api/v1/batches/{batch_id}/cancel"): Rule(ADMINS, "batch", change=True),
    ("GET", "/api/v1/cases/{case_id}/report"): Rule(CASE_READERS, "case"),
    ("GET", "/api/v1/cases/{case_id}/notification.pdf"): Rule(CASE_READERS, "case"),
    **{("POST", f"/api/v1/cases/{{case_id}}/{action}"): Rule(
        CASE_ACTORS, "case", change=True, deep_roles=True, body=_reason)
       for action in ("accept", "return", "refuse", "review", "close", "withdraw", "pause",
                      "resume")},
    ("POST", "/api/v1/cases/{case_id}/decide"): Rule(
        CASE_ACTORS, "case", change=True, deep_roles=True,
        body=lambda t: {"decision": "approve", "reason": "matrix"}),
    ("POST", "/api/v1/cases/{case_id}/extend"): Rule(
        CASE_ACTORS, "case", change=True, deep_roles=True,
        body=lambda t: {"reason": "matrix", "days": 1}),
    ("GET", "/api/v1/cases/{case_id}/events"): Rule(CASE_READERS, "case"),
    ("GET", "/api/v1/supervision"): Rule(frozenset({"admin", "approver", "reviewer"})),
    ("GET", "/api/v1/cases/{case_id}/notices"): Rule(CASE_READERS, "case"),
    ("GET", "/api/v1/notices/{notice_id}.pdf"): Rule(CASE_READERS, "notice"),
    ("GET", "/api/v1/progress"): Rule(EVERYONE, public=True),
    ("GET", "/api/v1/catalog/items"): Rule(EVERYONE),
    ("GET", "/api/v1/catalog/items/{code}"): Rule(EVERYONE),
    ("GET", "/api/v1/catalog/material-types"): Rule(EVERYONE),
    # The certificate store is shared by the centers; every key but a global admin's
    # reaches it only through a case of its own center (`case_ref`).
    ("GET", "/api/v1/certificates"): Rule(EVERYONE, "case_ref"),
    ("GET", "/api/v1/certificates/{cert_id}"): Rule(EVERYONE, "case_ref"),
    # The scan shows the full number: only the roles the masking policy gives it to.
    ("GET", "/api/v1/certificates/{cert_id}/file"): Rule(
        frozenset({"reviewer", "approver", "system"}), "case_ref"),
    ("POST", "/api/v1/certificates/{cert_id}/revoke"): Rule(ADMINS, body=_reason),
    ("POST", "/api/v1/certificates/expire"): Rule(ADMINS),
    ("POST", "/api/v1/cases/{case_id}/documents/{document_id}/verify"): Rule(
        frozenset({"reviewer", "admin"}), "case", body=lambda t: {}),
    ("POST", "/api/v1/cases/{case_id}/documents/{document_id}/fields/{field}/correction"):
        Rule(frozenset({"reviewer", "approver", "admin"}), "case",
             body=lambda t: {"value": "王小明", "reason": "matrix"}),
    ("GET", "/api/v1/audit"): Rule(ADMINS),
    ("GET", "/api/v1/audit/holders/{holder_id}"): Rule(ADMINS),
    ("GET", "/api/v1/keys"): Rule(ADMINS),
    ("POST", "/api/v1/keys"): Rule(ADMINS, body=lambda t: {"role": "clerk"}),
    ("POST", "/api/v1/keys/{key_id}/revoke"): Rule(ADMINS, "key"),
    ("POST", "/api/v1/keys/{key_id}/rotate"): Rule(ADMINS, "key",
                                                   body=lambda t: {"overlap_hours": 1}),
    ("GET", "/api/v1/centers"): Rule(ADMINS),
    ("GET", "/api/v1/cases/{case_id}/cover-sheet.pdf"): Rule(CASE_WRITERS, "case",
                                                             change=True),
    ("POST", "/api/v1/stacks"): Rule(CASE_WRITERS),  # no files: 422 past the role check
    ("GET", "/api/v1/stacks/{stack_id}"): Rule(CASE_WRITERS, "stack"),
    ("GET", "/api/v1/inbox"): Rule(CASE_WRITERS),
    ("POST", "/api/v1/inbox/{page_id}/attach"): Rule(
        CASE_WRITERS, "page", change=True, body=lambda t: {"case_id": t.case_id}),
    ("POST", "/api/v1/centers"): Rule(
        GLOBAL_ONLY, body=lambda t: {"code": f"m{next(t.counter)}", "name": "矩阵"}),
}

# Outside /api/v1: what a request without a key gets.
OUTSIDE: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "key",
    ("GET", "/openapi.json"): "key",
    ("GET", "/docs"): "key",
    ("GET", "/redoc"): "key",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",  # signing in: refused without its form and CSRF token
    ("POST", "/logout"): "session",
    ("GET", "/"): "session",
    # The window in the browser: a signed-in person acts as the principal of their key.
    ("GET", "/window"): "session",
    ("POST", "/window/cases"): "session",
    ("GET", "/cases/{case_id}"): "session",
    ("GET", "/cases/{case_id}/live"): "session",
    ("POST", "/cases/{case_id}/upload"): "session",
    ("POST", "/cases/{case_id}/accept"): "session",
    ("POST", "/cases/{case_id}/accept-tolerant"): "session",
    ("POST", "/cases/{case_id}/refuse"): "session",
    ("POST", "/cases/{case_id}/one-time-notice"): "session",
    ("GET", "/cases/{case_id}/notices/{notice_id}.pdf"): "session",
    ("GET", "/cases/{case_id}/pages/{page_id}/thumbnail.png"): "session",
    # The reviewer's workbench and the supervision board, likewise.
    ("GET", "/review"): "session",
    ("GET", "/review/{case_id}"): "session",
    ("POST", "/review/{case_id}/correction"): "session",
    ("POST", "/review/{case_id}/confirmation"): "session",
    ("POST", "/review/{case_id}/documents/{document_id}/verify"): "session",
    ("GET", "/review/{case_id}/pages/{page_id}/image.png"): "session",
    ("POST", "/review/{case_id}/recommendation"): "session",
    ("GET", "/supervision"): "session",
    ("MOUNT", "/static"): "public",
}

# Who asks: key label -> (role, center). "a.clerk" handles case A; "a.clerk2" is its
# colleague; case A is routed to "a.reviewer", so "a.reviewer2" must not see it.
PRINCIPALS = {"a.clerk": ("clerk", "a"), "a.clerk2": ("clerk", "a"),
              "a.reviewer": ("reviewer", "a"), "a.reviewer2": ("reviewer", "a"),
              "a.approver": ("approver", "a"), "a.admin": ("admin", "a"),
              "a.system": ("system", "a"), "global": ("admin", None)}


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, walking included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute | Route):
                found.update((m, prefix + route.path) for m in route.methods or ()
                             if m != "HEAD")
            elif isinstance(route, Mount):
                found.add(("MOUNT", prefix + route.path))

    walk(list(app.routes), "")
    return found


def expected(rule: Rule, who: str, target: str) -> str:
    role, center = PRINCIPALS[who]
    if "global" in rule.roles:
        return "open" if center is None else "role"
    if role not in rule.roles:
        return "role"
    other_center = center is not None and center != target
    if rule.obj in ("case", "batch", "notice", "key", "case_ref", "stack", "page") \
            and other_center:
        return "hidden"
    if rule.obj in ("case", "batch", "notice", "case_ref", "page"):
        if who == "a.reviewer2" and target == "a":
            return "hidden"  # routed to a.reviewer
        if rule.change and role == "clerk" and who != "a.clerk":
            return "not_yours"
    return "open"


def outcome(response: httpx.Response) -> str:
    if response.status_code == 401:
        return "unauthenticated"
    if response.status_code >= 500:
        return f"error {response.status_code}"
    code = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        code = response.json().get("code")
    if response.status_code == 403 and code == "auth.forbidden_role":
        return "role"
    if response.status_code in (404, 422) and code in HIDDEN_CODES:
        return "hidden"
    if code == "case.not_yours":
        return "not_yours"
    return "open"


def _path(template: str, t: Target) -> str:
    return template.format(case_id=t.case_id, batch_id=t.batch_id, notice_id=t.notice_id,
                           cert_id=t.cert_id, document_id=t.document_id, holder_id=t.holder,
                           key_id=t.spare_key_id, code=ITEM, stack_id=t.stack_id,
                           page_id=t.page_id, field="name")


def _params(template: str, t: Target) -> dict[str, str]:
    if template.startswith("/api/v1/certificates") and not template.endswith(
            ("/revoke", "/expire")):
        return {"holder_id": t.holder, "case_ref": t.case_number, "purpose": SYSTEM_PURPOSE}
    if template == "/api/v1/progress":
        return {"number": t.case_number, "code": "000000"}
    return {}


def _inbox_page(api: TwoCenters, who: str) -> tuple[str, str]:
    """A scanned stack without cover sheets: its page waits in the center's inbox."""
    import time

    with api.client(who) as clerk:
        stack = clerk.post("/stacks", files=[
            ("files", ("stack.pdf", packet("李四", resident_id(78), with_id_card=False),
                       "application/pdf"))]).json()
        deadline = time.monotonic() + 120
        while (progress := clerk.get(f"/stacks/{stack['id']}").json())["status"] != \
                "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert progress["inbox"], progress
    return stack["id"], progress["inbox"][0]["id"]


def _setup(api: TwoCenters) -> dict[str, Target]:
    """A case in each center for the same holder (so the certificate concerns both), read,
    accepted (a notice), the center's case A routed to a.reviewer; spare keys to revoke."""
    holder = resident_id(77)
    targets: dict[str, Target] = {}
    for center in ("a", "b"):
        with api.client(f"{center}.clerk") as clerk:
            case = clerk.post("/cases", json={"item_code": ITEM}).json()
            batch = clerk.post(f"/cases/{case['id']}/batches", files=[
                ("files", ("p.pdf", packet("王小明", holder), "application/pdf"))]).json()
            assert api.wait_for_batch(batch["id"])["status"] == "completed"
            report = clerk.get(f"/cases/{case['id']}/report").json()
            accepted = clerk.post(f"/cases/{case['id']}/accept")
            assert accepted.status_code == 200, accepted.text
            notices = clerk.get(f"/cases/{case['id']}/notices").json()
        with api.client(f"{center}.system") as system:
            certs = system.get("/certificates", params={
                "holder_id": holder, "case_ref": case["number"], "purpose": SYSTEM_PURPOSE})
            assert certs.status_code == 200 and certs.json(), certs.text
        with api.client(f"{center}.admin") as admin:
            spare = admin.post("/keys", json={"role": "clerk", "name": "spare"}).json()
        stack_id, page_id = _inbox_page(api, f"{center}.clerk")
        targets[center] = Target(
            center=center, case_id=case["id"], case_number=case["number"],
            batch_id=batch["id"],
            document_id=next(d["id"] for d in report["documents"] if d["type"] == "id_card"),
            notice_id=notices[0]["id"], cert_id=certs.json()[0]["id"], holder=holder,
            spare_key_id=spare["key"]["id"],
            reviewer_key_id=api.key_ids[f"{center}.reviewer"], stack_id=stack_id,
            page_id=page_id)
    with api.client("a.admin") as admin:
        routed = admin.post(f"/cases/{targets['a'].case_id}/assignment",
                            json={"reviewer_key_id": api.key_ids["a.reviewer"]})
        assert routed.status_code == 200, routed.text
    return targets


@pytest.fixture
def centers(tmp_path: Path) -> Iterator[TwoCenters]:
    yield from two_centers(tmp_path, rate_limit_renders_per_minute=0,
                           rate_limit_certificates_per_minute=0,
                           rate_limit_progress_per_minute=0, auto_verify_types=["id_card"])


def test_every_route_is_declared(centers: TwoCenters) -> None:
    from api.app import create_app

    served = route_table(create_app(centers.runtime))
    declared = set(API) | set(OUTSIDE)
    assert served - declared == set(), "routes without a declared access rule"
    assert declared - served == set(), "declared routes the app no longer serves"


def test_the_authorization_matrix(centers: TwoCenters) -> None:
    targets = _setup(centers)
    scan = packet("王小明", resident_id(77), with_id_card=False)
    mismatches: list[str] = []
    for (method, template), rule in sorted(API.items(), key=lambda kv: kv[0][1]):
        for who, target in itertools.product(PRINCIPALS, ("a", "b")):
            t = targets[target]
            kwargs: dict[str, Any] = {"params": _params(template, t)}
            if rule.body is not None:
                kwargs["json"] = rule.body(t)
            if rule.files:
                kwargs["files"] = [("files", ("s.pdf", scan, "application/pdf"))]
            with centers.client(who) as client:
                response = client.request(method, centers.base_url + _path(template, t),
                                          **kwargs)
            want, got = expected(rule, who, target), outcome(response)
            if want != got and not (rule.deep_roles and (want, got) == ("open", "role")):
                mismatches.append(f"{method} {template} as {who} on {target}'s: "
                                  f"expected {want}, got {got} ({response.status_code} "
                                  f"{response.text[:160]})")
        # Without a key: 401 everywhere but the public routes.
        with centers.client(None) as anonymous:
            response = anonymous.request(method,
                                         centers.base_url + _path(template, targets["a"]),
                                         params=_params(template, targets["a"]))
        got = outcome(response)
        if (got == "unauthenticated") == rule.public:
            mismatches.append(f"{method} {template} without a key: got {got}")
    assert mismatches == [], "\n".join(mismatches)


def test_routes_outside_the_api_without_a_key(centers: TwoCenters) -> None:
    with httpx.Client(base_url=centers.base_url, timeout=60,
                      follow_redirects=False) as anonymous:
        for (method, path), kind in OUTSIDE.items():
            if method == "MOUNT":
                continue
            status = anonymous.request(method, path).status_code
            if kind == "key":
                assert status == 401, (method, path)
            elif kind == "session":
                assert status in (303, 401, 403), (method, path, status)
            else:
                assert status not in (401, 403) and status < 500, (method, path, status)
