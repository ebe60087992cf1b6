"""The outbox on SQLite and PostgreSQL, delivered to a real HTTP receiver on 127.0.0.1 that is
down for a while: every event arrives, signed, at least once, in order per case; the
retries follow the backoff on a moved clock, never on sleeps."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine

from intake.outbox import WebhookSender, backoff, record_case_event, verify_signature
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.outbox import Outbox

SECRET = "a-shared-secret-of-some-length"


class Receiver:
    """A webhook receiver: answers 503 while `down`, else 204, and keeps what it got."""

    def __init__(self) -> None:
        self.down = True
        self.received: list[dict[str, object]] = []
        self.signatures_ok: list[bool] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.signatures_ok.append(verify_signature(
                    SECRET.encode(), self.headers["X-Docintake-Signature"], body))
                event = json.loads(body)
                assert event["id"] == self.headers["X-Docintake-Event-Id"]
                receiver.received.append(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/docintake"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def runtime(tmp_path: Path, database_url: str, receiver: Receiver) -> Iterator[Runtime]:
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url,
                             task_mode="inline", webhook_url=receiver.url,
                             webhook_secret=SECRET)
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _events(runtime: Runtime, plan: list[tuple[str, str]]) -> None:
    with runtime.database.session() as session:
        outbox = Outbox(session)
        for n, (case, action) in enumerate(plan):
            record_case_event(outbox, case_id=case, action=action,
                              payload={"case_number": case, "n": n},
                              now=START + timedelta(seconds=n))


def test_events_survive_a_receiver_that_is_down_and_arrive_in_order(
        runtime: Runtime, receiver: Receiver) -> None:
    plan = [("case-a", "accept"), ("case-b", "return"), ("case-a", "decide"),
            ("case-b", "precheck"),  # no event for other systems
            ("case-a", "close"), ("case-b", "refuse")]
    _events(runtime, plan)
    with time_machine.travel(START + timedelta(minutes=1), tick=False) as clock:
        sender = WebhookSender(runtime)
        first = sender.deliver_due()
        # the first event of each case was tried and failed; later ones wait their turn
        assert (first.delivered, first.failed) == (0, 2) and receiver.attempts == 2
        assert sender.deliver_due().failed == 0  # not due yet: backoff
        for _ in range(3):  # still down for a few rounds
            clock.shift(backoff(5))
            sender.deliver_due()
        receiver.down = False
        clock.shift(MAX := timedelta(minutes=10))
        for _ in range(5):
            sender.deliver_due()
            clock.shift(MAX)
    kinds = sorted((e["case_id"], e["kind"]) for e in receiver.received)
    assert kinds == [("case-a", "case.accepted"), ("case-a", "case.closed"),
                     ("case-a", "case.decided"), ("case-b", "case.refused"),
                     ("case-b", "case.returned")]
    for case in ("case-a", "case-b"):  # per case, strictly in the order they happened
        ns = [e["data"]["n"] for e in receiver.received  # type: ignore[index]
              if e["case_id"] == case]
        assert ns == sorted(ns)
    assert len({e["id"] for e in receiver.received}) == 5  # each once
    assert all(receiver.signatures_ok)
    with runtime.database.session() as session:
        assert Outbox(session).pending_count() == 0


def test_a_failed_event_holds_back_only_its_own_case(runtime: Runtime,
                                                     receiver: Receiver) -> None:
    receiver.down = False
    _events(runtime, [("case-a", "accept"), ("case-a", "close"), ("case-b", "accept")])
    calls: list[str] = []

    def flaky(url: str, body: bytes, headers: dict[str, str]) -> int:
        event = json.loads(body)
        calls.append(event["case_id"])
        return 500 if event["case_id"] == "case-a" else 204

    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        result = WebhookSender(runtime, post=flaky).deliver_due()
    assert (result.delivered, result.failed) == (1, 1)
    assert calls == ["case-a", "case-b"]  # case-a's "close" was not tried after its failure
    with runtime.database.session() as session:
        events = Outbox(session).of_case("case-a")
        assert [e.attempts for e in events] == [1, 0]
        assert events[0].last_error == "HTTP 500" and events[0].delivered_at is None


def test_the_signature_binds_body_and_time() -> None:
    from intake.outbox import sign

    header = sign(b"k" * 20, 1_700_000_000, b'{"a":1}')
    assert verify_signature(b"k" * 20, header, b'{"a":1}')
    assert not verify_signature(b"k" * 20, header, b'{"a":2}')
    assert not verify_signature(b"x" * 20, header, b'{"a":1}')
    assert not verify_signature(b"k" * 20, "garbage", b'{"a":1}')


def test_a_webhook_needs_a_real_secret(tmp_path: Path) -> None:
    from intake.settings import SettingsError

    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(data_dir=tmp_path, webhook_url="http://127.0.0.1:9/x")
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(data_dir=tmp_path, webhook_url="http://127.0.0.1:9/x",
                      webhook_secret="short")
