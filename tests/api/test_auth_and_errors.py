"""Every route needs a key; roles decide what a key may do; errors are problem+json."""

from __future__ import annotations

import pytest

from tests.api.conftest import LiveApi

PROBLEM = "application/problem+json"

ROUTES = [
    ("GET", "/catalog/items"),
    ("GET", "/catalog/items/company-establishment"),
    ("GET", "/catalog/material-types"),
    ("POST", "/cases"),
    ("GET", "/cases/x"),
    ("POST", "/cases/x/batches"),
    ("GET", "/batches/x"),
    ("GET", "/cases/x/report"),
    ("GET", "/cases/x/notification.pdf"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_missing_or_wrong_key(live_api: LiveApi, method: str,
                                                    path: str) -> None:
    with live_api.client() as anonymous:
        response = anonymous.request(method, path)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "auth.missing_key"
    assert response.headers["www-authenticate"].startswith("Bearer")
    forged = live_api.keys["admin"][:-4] + "AAAA"
    with live_api.client(key=forged) as wrong:
        response = wrong.request(method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_key"


def test_roles_are_enforced(live_api: LiveApi) -> None:
    body = {"item_code": "company-establishment"}
    with live_api.client("system") as system:
        refused = system.post("/cases", json=body)
        assert refused.status_code == 403
        assert refused.json()["code"] == "auth.forbidden_role"
        assert system.get("/catalog/items").status_code == 200
    with live_api.client("reviewer") as reviewer:
        assert reviewer.post("/cases", json=body).status_code == 403
    with live_api.client("clerk") as clerk:
        created = clerk.post("/cases", json=body)
        assert created.status_code == 201
        case_id = created.json()["id"]
    with live_api.client("reviewer") as reviewer:
        assert reviewer.get(f"/cases/{case_id}").status_code == 200
    with live_api.client("system") as system:
        assert system.get(f"/cases/{case_id}").status_code == 403


def test_errors_are_problem_details_with_stable_codes(live_api: LiveApi) -> None:
    with live_api.client("clerk") as clerk:
        unknown_case = clerk.get("/cases/does-not-exist")
        bad_item = clerk.post("/cases", json={"item_code": "no-such-item"})
        invalid = clerk.post("/cases", json={"acceptance_date": "yesterday"})
        no_route = clerk.get("/nothing-here")
    for response, status, code in [
        (unknown_case, 404, "case.not_found"),
        (bad_item, 404, "item.unknown"),
        (invalid, 422, "request.invalid"),
        (no_route, 404, "route.not_found"),
    ]:
        assert response.status_code == status
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert problem["code"] == code and problem["status"] == status
        assert problem["type"] == f"urn:docintake:problem:{code}"
        assert problem["title"]


def test_catalog_lists_the_reference_items(live_api: LiveApi) -> None:
    with live_api.client("clerk") as clerk:
        items = clerk.get("/catalog/items").json()
        one = clerk.get("/catalog/items/food-business-license").json()
    assert {i["code"] for i in items} >= {
        "company-establishment", "food-business-license", "individual-business-registration"}
    assert one["code"] == "food-business-license"
