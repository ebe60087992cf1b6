"""Keys' life (expiry, revocation, rotation with overlap, scopes checked against the
catalog, every change audited), acceptance-date and expiry-sweep bounds, the API's edges
(headers, documentation behind a key) and rate limits, with time moved by time-machine or
an injected clock, never slept."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from intake.ratelimit import Limit, MemoryLimiter, RedisLimiter
from tests.api.centers import TwoCenters, start_two_centers, two_centers
from tests.api.test_cli import run
from tests.certificates.packets import ITEM

HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff",
           "referrer-policy": "no-referrer"}


@pytest.fixture
def centers(tmp_path: Path) -> Iterator[TwoCenters]:
    yield from two_centers(tmp_path)


def _issue(api: TwoCenters, who: str, **body: Any) -> dict[str, Any]:
    with api.client(who) as admin:
        response = admin.post("/keys", json=body)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _as(api: TwoCenters, plaintext: str) -> httpx.Client:
    return httpx.Client(base_url=api.base_url + "/api/v1", timeout=60,
                        headers={"Authorization": f"Bearer {plaintext}"})


def test_revoked_and_expired_keys_are_refused_at_once(centers: TwoCenters) -> None:
    start = datetime.now(UTC)
    issued = _issue(centers, "a.admin", role="clerk", name="window 3",
                    expires_at=(start + timedelta(hours=1)).isoformat())
    assert issued["key"]["center"] == "a" and issued["key"]["last_used_at"] is None
    with _as(centers, issued["plaintext"]) as clerk:
        assert clerk.get("/catalog/items").status_code == 200
        with time_machine.travel(start + timedelta(hours=2)):
            expired = clerk.get("/catalog/items")
    assert expired.status_code == 401 and expired.json()["code"] == "auth.expired_key"
    with centers.client("a.admin") as admin:
        listed = {k["id"]: k for k in admin.get("/keys").json()}
    assert listed[issued["key"]["id"]]["last_used_at"] is not None

    other = _issue(centers, "a.admin", role="reviewer")
    with _as(centers, other["plaintext"]) as reviewer:
        assert reviewer.get("/catalog/items").status_code == 200
        with centers.client("a.admin") as admin:
            revoked = admin.post(f"/keys/{other['key']['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        refused = reviewer.get("/catalog/items")
    assert refused.status_code == 401 and refused.json()["code"] == "auth.invalid_key"


def test_rotation_keeps_the_old_key_for_the_overlap_only(centers: TwoCenters) -> None:
    start = datetime.now(UTC)
    old = centers.keys["a.system"]
    with centers.client("a.admin") as admin:
        rotated = admin.post(f"/keys/{centers.key_ids['a.system']}/rotate",
                             json={"overlap_hours": 1})
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["key"]["scopes"] == ["id_card"] and new["key"]["center"] == "a"
    assert new["key"]["purposes"] == ["个体工商户登记核验"]
    for key in (old, new["plaintext"]):
        with _as(centers, key) as system:
            assert system.get("/catalog/items").status_code == 200
    with time_machine.travel(start + timedelta(hours=2)):
        with _as(centers, old) as system:
            assert system.get("/catalog/items").status_code == 401
        with _as(centers, new["plaintext"]) as system:
            assert system.get("/catalog/items").status_code == 200
    changes = [e for e in _audit(centers) if e["action"].startswith("apikey.")]
    assert [(e["action"], e["key_id"]) for e in changes][:1] == [
        ("apikey.rotate", centers.key_ids["a.admin"])]


def _audit(api: TwoCenters, **params: Any) -> list[dict[str, Any]]:
    with api.client("global") as admin:
        entries: list[dict[str, Any]] = admin.get("/audit", params=params).json()
    return entries


def test_keys_are_checked_and_managed_within_their_center(centers: TwoCenters) -> None:
    with centers.client("a.admin") as admin:
        typo = admin.post("/keys", json={"role": "system", "scopes": ["id_crad"]})
        global_ = admin.post("/keys", json={"role": "admin", "global_admin": True})
        foreign = admin.post("/keys", json={"role": "clerk", "center": "b"})
        theirs = admin.post(f"/keys/{centers.key_ids['b.clerk']}/revoke")
        center = admin.post("/centers", json={"code": "c", "name": "丙"})
        own_list = admin.get("/keys").json()
    assert typo.status_code == 422 and typo.json()["code"] == "apikey.invalid"
    assert "id_crad" in typo.json()["detail"]
    assert global_.status_code == foreign.status_code == center.status_code == 403
    assert theirs.status_code == 404  # another center's key does not exist for it
    assert {k["center"] for k in own_list} == {"a"}
    with centers.client("a.clerk") as clerk:
        assert clerk.get("/keys").status_code == 403
    with centers.client("global") as admin:
        assert admin.post("/centers", json={"code": "c", "name": "丙"}).status_code == 201
    assert not [e for e in _audit(centers, action="apikey.create")  # none were made
                if e["key_id"] == centers.key_ids["a.admin"]]
    assert _audit(centers, action="center.create")[0]["key_id"] == centers.key_ids["global"]


def test_the_cli_manages_centers_and_keys(tmp_path: Path) -> None:
    env = {"DOCINTAKE_DATA_DIR": str(tmp_path / "data")}
    assert run("center", "create", "sz-ft", "--name", "福田区政务服务中心", "--region",
               "440304", cwd=tmp_path, env=env).returncode == 0
    typo = run("apikey", "create", "--role", "system", "--scope", "id_crad", "--center",
               "sz-ft", cwd=tmp_path, env=env)
    assert typo.returncode == 2 and "id_crad" in typo.stderr
    made = run("apikey", "create", "--role", "system", "--scope", "id_card", "--center",
               "sz-ft", "--purpose", "不动产登记", "--expires", "30", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    nowhere = run("apikey", "create", "--role", "clerk", "--center", "nope", cwd=tmp_path,
                  env=env)
    assert nowhere.returncode == 2
    listed = run("apikey", "list", "--json", cwd=tmp_path, env=env)
    keys = __import__("json").loads(listed.stdout)
    assert [(k["role"], k["center"], k["scopes"], k["purposes"]) for k in keys] == [
        ("system", "sz-ft", ["id_card"], ["不动产登记"])]
    assert keys[0]["expires_at"] is not None
    key_id = str(keys[0]["id"])
    rotated = run("apikey", "rotate", key_id, "--overlap-hours", "2", cwd=tmp_path, env=env)
    assert rotated.returncode == 0 and rotated.stdout.startswith("dik_")
    assert run("apikey", "revoke", key_id, cwd=tmp_path, env=env).returncode == 0
    again = run("apikey", "list", "--json", "--all", cwd=tmp_path, env=env)
    states = {k["id"]: k["active"] for k in __import__("json").loads(again.stdout)}
    assert states[int(key_id)] is False and sum(states.values()) == 1


def test_acceptance_dates_and_expiry_sweeps_are_bounded(centers: TwoCenters) -> None:
    today = datetime.now(UTC).date()  # the test runs far from midnight in Shanghai or not:
    with centers.client("a.clerk") as clerk:  # use the server's own "today" below
        future = clerk.post("/cases", json={"item_code": ITEM,
                                            "acceptance_date": "9999-01-01"})
        past = clerk.post("/cases", json={"item_code": ITEM,
                                          "acceptance_date": "2001-01-01"})
    assert future.status_code == 422 and future.json()["code"] == \
        "case.acceptance_date_future"
    assert past.status_code == 403 and past.json()["code"] == \
        "case.acceptance_date_backdated"
    back = (today - timedelta(days=40)).isoformat()
    with centers.client("a.admin") as admin:
        backdated = admin.post("/cases", json={"item_code": ITEM, "acceptance_date": back})
        ancient = admin.post("/cases", json={"item_code": ITEM,
                                             "acceptance_date": "0001-01-01"})
        ahead = admin.post("/certificates/expire",
                           params={"on": (today + timedelta(days=2)).isoformat()})
        swept = admin.post("/certificates/expire")
    assert backdated.status_code == 201, backdated.text
    assert ancient.status_code == 422
    assert ahead.status_code == 422 and ahead.json()["code"] == \
        "certificate.expire_date_invalid"
    assert swept.status_code == 200
    entries = _audit(centers)
    backdates = [e for e in entries if e["action"] == "case.backdate"]
    assert [e["key_id"] for e in backdates] == [centers.key_ids["a.admin"]]
    sweeps = sorted(e["result"] for e in entries if e["action"] == "certificate.expire")
    assert sweeps == ["invalid", "ok"]


def test_responses_carry_no_store_and_docs_need_a_key(centers: TwoCenters) -> None:
    with centers.client("a.clerk") as clerk:
        for response in (clerk.get("/catalog/items"), clerk.get("/cases/nope")):
            for name, value in HEADERS.items():
                assert response.headers[name] == value
    with httpx.Client(base_url=centers.base_url, timeout=60) as anonymous:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert anonymous.get(path).status_code == 401, path
        with_key = anonymous.get("/openapi.json", headers={
            "Authorization": f"Bearer {centers.keys['a.clerk']}"})
    assert with_key.status_code == 200 and "/api/v1/cases" in with_key.json()["paths"]


def test_docs_can_be_switched_off(tmp_path: Path) -> None:
    # DOCINTAKE_API_DOCS=false, the production default.
    api, stop = start_two_centers(tmp_path, api_docs=False)
    try:
        with api.client("a.admin") as admin:
            assert admin.get(api.base_url + "/openapi.json").status_code == 404
    finally:
        stop()
        api.runtime.close()


def test_certificate_queries_are_rate_limited_per_key(tmp_path: Path) -> None:
    api, stop = start_two_centers(tmp_path, rate_limit_certificates_per_minute=2)
    query = {"holder_id": "110105198512030011", "case_ref": "x", "purpose": "x"}
    try:
        with time_machine.travel(datetime(2026, 12, 1, 2, tzinfo=UTC), tick=False):
            with api.client("a.system") as system:
                answers = [system.get("/certificates", params=query) for _ in range(3)]
            with api.client("b.system") as other:  # another key: its own bucket
                assert other.get("/certificates", params=query).status_code != 429
        with time_machine.travel(datetime(2026, 12, 1, 2, 0, 31, tzinfo=UTC), tick=False), \
                api.client("a.system") as system:
            later = system.get("/certificates", params=query)
    finally:
        stop()
        api.runtime.close()
    assert [a.status_code != 429 for a in answers] == [True, True, False]
    assert answers[2].json()["code"] == "rate.limited"
    assert answers[2].headers["retry-after"] == "30"
    assert later.status_code != 429  # a token came back after 30 s


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_token_buckets_refill_with_the_clock(kind: str) -> None:
    now = [1000.0]
    limiter = MemoryLimiter(lambda: now[0]) if kind == "memory" else RedisLimiter(
        "redis://127.0.0.1:6379/0", lambda: now[0],
        prefix=f"docintake-test:{secrets.token_hex(4)}:")
    limit = Limit(per_minute=6, burst=2)  # a token every 10 s
    assert limiter.take("k", limit) is None
    assert limiter.take("k", limit) is None
    wait = limiter.take("k", limit)
    assert wait is not None and 9.9 < wait <= 10.0
    assert limiter.take("other", limit) is None  # buckets are separate
    now[0] += 10.0
    assert limiter.take("k", limit) is None
    assert limiter.take("k", limit) is not None
    now[0] += 3600.0  # refills up to the burst, no further
    assert limiter.take("k", limit) is None and limiter.take("k", limit) is None
    assert limiter.take("k", limit) is not None
