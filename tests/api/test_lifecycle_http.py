"""Transitions, deadlines and supervision over HTTP, on a real server, at chosen dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from storage.apikeys import create_api_key
from tests.api.conftest import LiveApi

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 10) -> Any:
    return time_machine.travel(datetime(year, month, day, hour, tzinfo=SHANGHAI), tick=False)


def _approvers(live_api: LiveApi, count: int) -> list[str]:
    with live_api.runtime.database.session() as session:
        return [create_api_key(session, role="approver", name=f"approver {n}")[1]
                for n in range(count)]


def test_a_case_through_its_life_over_http(live_api: LiveApi) -> None:
    first, second = _approvers(live_api, 2)
    clerk, reviewer = live_api.client("clerk"), live_api.client("reviewer")
    with at(2026, 9, 30):  # Wednesday before National Day
        case = clerk.post("/cases", json={"item_code": "food-business-license"}).json()
        assert (case["state"], case["received_on"], case["accepted_on"]) == \
            ("received", "2026-09-30", None)
        # 8, 9, 10 (Saturday, adjusted working day), 12, 13 Oct
        assert case["deadlines"]["notice_due"] == "2026-10-13"
        assert case["deadlines"]["light"] == "green"
        assert case["status"] == "open"  # the report's status stays its own field
    case_id = case["id"]
    with at(2026, 10, 8):
        response = reviewer.post(f"/cases/{case_id}/accept")
        assert response.status_code == 403
        assert response.json()["code"] == "auth.forbidden_role"
        response = clerk.post(f"/cases/{case_id}/review")
        assert response.status_code == 403
        accepted = clerk.post(f"/cases/{case_id}/accept", json={"reason": "材料齐全"})
        assert accepted.status_code == 200, accepted.text
        body = accepted.json()
        assert body["state"] == "accepted" and body["event"]["action"] == "accept"
        assert body["event"]["reason"] == "材料齐全"
        assert body["life"]["deadlines"]["committed_due"] == "2026-10-21"
        again = clerk.post(f"/cases/{case_id}/accept")
        assert again.status_code == 409
        assert again.json()["code"] == "case.invalid_transition"
        assert again.json()["state"] == "accepted"
    with at(2026, 10, 9):
        assert reviewer.post(f"/cases/{case_id}/review").status_code == 200
        pause = reviewer.post(f"/cases/{case_id}/pause", json={})
        assert pause.status_code == 422 and pause.json()["code"] == "case.reason_required"
        assert reviewer.post(f"/cases/{case_id}/pause",
                             json={"reason": "现场核查"}).json()["state"] == "paused"
    with at(2026, 10, 13):
        assert reviewer.post(f"/cases/{case_id}/resume").json()["state"] == "under_review"
        with live_api.client(key=first) as approver:
            too_long = approver.post(f"/cases/{case_id}/extend",
                                     json={"days": 11, "reason": "专家评审"})
            assert too_long.status_code == 422
            extended = approver.post(f"/cases/{case_id}/extend",
                                     json={"days": 3, "reason": "专家评审"})
            assert extended.status_code == 200
        # committed 10 from 8 Oct, paused 10 (Sat) .. 13 Oct, extended by 3:
        # 9, 14, 15, 16, 19 .. 23, 26 Oct, then 27, 28, 29 Oct
        got = clerk.get(f"/cases/{case_id}").json()
        assert got["state"] == "under_review"
        assert got["deadlines"]["committed_due"] == "2026-10-29"
    with at(2026, 10, 14), live_api.client(key=second) as approver:
        denied = approver.post(f"/cases/{case_id}/decide", json={"decision": "deny"})
        assert denied.status_code == 422  # a denial needs its reason
        decided = approver.post(f"/cases/{case_id}/decide",
                                json={"decision": "approve", "reason": "符合条件"})
        assert decided.status_code == 200 and decided.json()["state"] == "decided"
    events = clerk.get(f"/cases/{case_id}/events").json()
    assert [e["action"] for e in events] == [
        "receive", "accept", "review", "pause", "resume", "extend", "decide"]
    assert events[5]["payload"] == {"days": 3}
    clerk.close()
    reviewer.close()


def test_whoever_accepted_or_reviewed_cannot_decide(live_api: LiveApi) -> None:
    accepting, reviewing, deciding = _approvers(live_api, 3)
    clerk = live_api.client("clerk")
    with at(2026, 11, 2):
        case_id = clerk.post("/cases", json={"item_code": "company-establishment"}).json()["id"]
        with live_api.client(key=accepting) as approver:
            assert approver.post(f"/cases/{case_id}/accept").status_code == 200
        with live_api.client(key=reviewing) as approver:
            assert approver.post(f"/cases/{case_id}/review").status_code == 200
        for key in (accepting, reviewing):
            with live_api.client(key=key) as approver:
                response = approver.post(f"/cases/{case_id}/decide",
                                         json={"decision": "approve"})
                assert response.status_code == 403
                assert response.json()["code"] == "case.separation_of_duties"
        assert clerk.post(f"/cases/{case_id}/decide",
                          json={"decision": "approve"}).status_code == 403
        with live_api.client(key=deciding) as approver:
            assert approver.post(f"/cases/{case_id}/decide",
                                 json={"decision": "approve"}).status_code == 200
        assert clerk.post(f"/cases/{case_id}/close").json()["state"] == "closed"
    clerk.close()


def test_supervision_board_and_gauges(live_api: LiveApi) -> None:
    clerk = live_api.client("clerk")
    with at(2026, 9, 14):
        late = clerk.post("/cases", json={"item_code": "food-business-license"}).json()["id"]
    with at(2026, 9, 22):
        near = clerk.post("/cases", json={"item_code": "company-establishment"}).json()["id"]
        clerk.post(f"/cases/{near}/accept")  # committed 3: 23, 24, 28 Sep
    with at(2026, 9, 28):
        assert clerk.get("/supervision").status_code == 403
        with live_api.client("reviewer") as reviewer:
            board = reviewer.get("/supervision").json()
            assert board["as_of"] == "2026-09-28"
            assert [(c["case_id"], c["deadlines"]["light"]) for c in board["cases"]] == [
                (late, "red"), (near, "yellow")]
            assert board["cases"][0]["deadlines"]["deemed_accepted"] is True
            assert "applicant_name" not in board["cases"][0]
            assert board["counts"]["food-business-license"]["red"] == 1
            assert board["totals"] == {"red": 1, "yellow": 1, "green": 0}
            reds = reviewer.get("/supervision", params={"light": "red"}).json()
            assert [c["case_id"] for c in reds["cases"]] == [late]
            earlier = reviewer.get("/supervision", params={"as_of": "2026-09-22"}).json()
            assert [c["deadlines"]["light"] for c in earlier["cases"]] == ["red", "green"]
            bad = reviewer.get("/supervision", params={"as_of": "28/09/2026"})
            assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
        with live_api.client("admin") as admin:
            metrics = admin.get(live_api.base_url + "/metrics").text
        assert 'docintake_open_cases{light="red"} 1.0' in metrics
        assert 'docintake_open_cases{light="yellow"} 1.0' in metrics
    clerk.close()
