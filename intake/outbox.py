"""Case events for other systems (the 好差评 rating system hooks on "closed"): written to the
outbox in the transaction of the transition (`record_case_event`) and delivered to the
configured webhook by `WebhookSender`, at least once and in order per case, retried with
backoff while the receiver is down. Nothing is lost: an event leaves the outbox only when
the receiver answered 2xx.

Each POST carries the event as JSON and two headers:

* `X-Docintake-Event-Id`: the event's stable id (a receiver drops a repeat);
* `X-Docintake-Signature: t=<unix time>,sha256=<hex>`: HMAC-SHA256 with the shared secret
  (`DOCINTAKE_WEBHOOK_SECRET`) over "<t>.<body>", so a receiver can check who sent it and
  refuse replays of old deliveries.

The payload names the case, its item, its center and what happened; no personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from intake.runtime import Runtime
from storage.models import OutboxEvent
from storage.outbox import Outbox

log = logging.getLogger(__name__)

# Transitions other systems hear about, by the event kind they receive.
EVENT_KINDS = {
    "accept": "case.accepted",
    "accept_tolerant": "case.accepted",
    "return": "case.returned",
    "refuse": "case.refused",
    "decide": "case.decided",
    "close": "case.closed",
    "withdraw": "case.withdrawn",
}
MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 … seconds after the n-th failed attempt, at most ten minutes."""
    return min(timedelta(seconds=2 ** max(1, attempts)), MAX_BACKOFF)


def record_case_event(outbox: Outbox, *, case_id: str, action: str, payload: dict[str, Any],
                      now: datetime) -> OutboxEvent | None:
    """Write the event of a transition, in the transition's transaction; None for a
    transition other systems do not hear about."""
    kind = EVENT_KINDS.get(action)
    if kind is None:
        return None
    return outbox.add(case_id=case_id, kind=kind, payload=payload, now=now)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={digest}"


def verify_signature(secret: bytes, header: str, body: bytes) -> bool:
    """The receiver's check (used by the tests; documented for integrators)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        expected = sign(secret, int(parts["t"]), body)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, header)


def event_body(event: OutboxEvent) -> bytes:
    created = event.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return json.dumps({"id": event.id, "kind": event.kind, "case_id": event.case_id,
                       "created_at": created.isoformat(), "data": event.payload},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DeliveryRound:
    delivered: int
    failed: int


Post = Callable[[str, bytes, dict[str, str]], int]


def _post_with_httpx(timeout: float) -> Post:
    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        return httpx.post(url, content=body, headers=headers, timeout=timeout).status_code

    return post


class WebhookSender:
    """Delivers due outbox events. `deliver_due` is one round (the CLI, the tests); `start`
    runs rounds in a daemon thread until `stop`."""

    def __init__(self, runtime: Runtime, *, post: Post | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        settings = runtime.settings
        if not settings.webhook_url or settings.webhook_secret is None:
            raise ValueError("the webhook sender needs DOCINTAKE_WEBHOOK_URL and "
                             "DOCINTAKE_WEBHOOK_SECRET")
        self.runtime = runtime
        self.url = settings.webhook_url
        self.secret = settings.webhook_secret.get_secret_value().encode()
        self.post = post or _post_with_httpx(settings.webhook_timeout)
        self.now = now or (lambda: datetime.now(UTC))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver_due(self, limit: int = 50) -> DeliveryRound:
        delivered = failed = 0
        with self.runtime.database.session() as session:
            outbox = Outbox(session)
            stalled: set[str] = set()  # a case whose event failed: its later ones wait
            for event in outbox.claim_due(self.now(), limit):
                if event.case_id in stalled:
                    continue
                body = event_body(event)
                now = self.now()
                headers = {"Content-Type": "application/json",
                           "X-Docintake-Event-Id": event.id,
                           "X-Docintake-Signature": sign(self.secret, int(now.timestamp()),
                                                         body)}
                try:
                    status = self.post(self.url, body, headers)
                    error = None if 200 <= status < 300 else f"HTTP {status}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                if error is None:
                    outbox.delivered(event, self.now())
                    delivered += 1
                else:
                    outbox.failed(event, self.now(), error, backoff(event.attempts + 1))
                    stalled.add(event.case_id)
                    failed += 1
                    log.warning("webhook delivery failed: %s", error,
                                extra={"case_id": event.case_id, "stage": "outbox"})
        return DeliveryRound(delivered, failed)

    def start(self, interval: float = 1.0) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    busy = self.deliver_due().delivered > 0
                except Exception:  # the database away: try again next round
                    log.exception("outbox round failed", extra={"stage": "outbox"})
                    busy = False
                if not busy:
                    self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="docintake-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
