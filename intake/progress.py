"""The applicant's progress query: by phone, touch screen or web, with the case number and
the query code printed on the acceptance notice, and no key.

What it answers is chosen to leak nothing about anyone: the state in words, the next step,
the committed deadline and its light, and the names of materials still outstanding (the
catalog's slot names). Never a name, ID number, address, phone number or file.

The query code is drawn once at acceptance (`new_query_code`) and kept only as a salted
scrypt digest. A wrong code counts against the case number and against the client address;
after `MAX_FAILURES` within `WINDOW_SECONDS` either is refused with 429 and `Retry-After`
(a right code too: guessing must not be able to tell). Every query is audited without
personal data: the case number, the result, and a keyed hash of the client address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from intake.audit import signing_key
from intake.errors import IntakeError
from intake.lifecycle import STATE_NAMES, Lifecycle
from intake.query_codes import code_matches
from intake.runtime import Runtime
from storage.audit import Actor
from storage.cases import CaseRepository

MAX_FAILURES: Final = 5
WINDOW_SECONDS: Final = 15 * 60

NEXT_STEPS: Final[dict[str, str]] = {
    "received": "材料已收取，正在预审。",
    "prechecked": "材料已预审，等待窗口受理。",
    "returned": "请按一次性告知书补正材料后再次提交。",
    "accepted": "已受理，等待审查。",
    "accepted_tolerant": "已容缺受理，请按承诺期限补交容缺材料；同时进入审查。",
    "under_review": "正在审查。",
    "paused": "办理时限中止计算（听证、检验检测、专家评审等），结束后恢复。",
    "decided": "已作出决定，等待送达或领取。",
    "closed": "已办结。",
    "refused": "不予受理，详见不予受理通知书。",
    "withdrawn": "申请已撤回。",
}


def client_tag(secret: bytes, address: str) -> str:
    """A keyed hash of the client address: enough to see one source hammering, nothing to
    identify a person by."""
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()[:16]


class GuessLimiter(Protocol):
    def retry_after(self, keys: tuple[str, ...]) -> int | None:
        """Seconds to wait if any key is over its failures, else None."""

    def failed(self, keys: tuple[str, ...]) -> None: ...


@dataclass
class MemoryGuessLimiter:
    """Failures per key in a sliding window, in this process (the embedded default)."""

    max_failures: int = MAX_FAILURES
    window: float = WINDOW_SECONDS
    clock: Callable[[], float] = time.time  # wall time: a clock library can move it
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def retry_after(self, keys: tuple[str, ...]) -> int | None:
        now = self.clock()
        with self._lock:
            waits = [int(self.window - (now - recent[0])) + 1 for key in keys
                     if len(recent := self._recent(key, now)) >= self.max_failures]
        return max(waits) if waits else None

    def failed(self, keys: tuple[str, ...]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, []).append(now)


class RedisGuessLimiter:
    """The same, shared by every API process through Redis (fixed windows per key)."""

    def __init__(self, url: str, *, max_failures: int = MAX_FAILURES,
                 window: int = WINDOW_SECONDS, prefix: str = "docintake:progress") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.max_failures, self.window, self.prefix = max_failures, window, prefix

    def retry_after(self, keys: tuple[str, ...]) -> int | None:
        waits = []
        for key in keys:
            name = f"{self.prefix}:{key}"
            count = self.client.get(name)
            if count is not None and int(count) >= self.max_failures:
                waits.append(max(1, int(self.client.ttl(name))))
        return max(waits) if waits else None

    def failed(self, keys: tuple[str, ...]) -> None:
        pipe = self.client.pipeline()
        for key in keys:
            name = f"{self.prefix}:{key}"
            pipe.incr(name)
            pipe.expire(name, self.window, nx=True)
        pipe.execute()


@dataclass(frozen=True)
class Progress:
    """All an applicant learns: no personal data by construction."""

    case_number: str
    item_name: str
    state: str
    state_name: str
    next_step: str
    committed_due: str | None
    working_days_left: int | None
    light: str | None
    outstanding: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def outstanding_names(state: str, *, report: Mapping[str, Any] | None,
                      tolerant: list[Mapping[str, Any]], slot_names: Mapping[str, str]
                      ) -> list[str]:
    """What the applicant still has to bring: for a returned case the slots the report
    finds missing or invalid; for a tolerant acceptance the materials accepted as
    outstanding."""
    if state == "returned" and report:
        return [str(s.get("name")) for s in report.get("slots", [])
                if s.get("state") in ("missing", "invalid")]
    if state == "accepted_tolerant" or tolerant:
        return [slot_names.get(str(o.get("slot")), str(o.get("slot"))) for o in tolerant]
    return []


class ProgressService:
    """Answers the applicant's query; one per process (it holds the guess limiter)."""

    def __init__(self, runtime: Runtime, limiter: GuessLimiter | None = None) -> None:
        self.runtime = runtime
        if limiter is None:
            url = runtime.settings.broker_url
            limiter = RedisGuessLimiter(url) if url else MemoryGuessLimiter()
        self.limiter = limiter
        seed = signing_key(runtime.settings).private_bytes_raw()
        self._tag_key = hashlib.sha256(b"docintake progress client\n" + seed).digest()

    def query(self, number: str, code: str, client_address: str) -> Progress:
        tag = client_tag(self._tag_key, client_address)
        keys = (f"case:{number}", f"client:{tag}")
        actor = Actor(None, "applicant", "public")
        wait = self.limiter.retry_after(keys)
        if wait is not None:
            self._audit(actor, "denied", number, tag)
            raise IntakeError("progress.too_many_attempts", retry_after=wait,
                              headers={"Retry-After": str(wait)})
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = repo.case_by_number(number)
            if not code_matches(case.query_code_hash if case else None, code):
                self.limiter.failed(keys)
                progress = None
            else:
                assert case is not None
                lifecycle = Lifecycle(self.runtime)
                life = lifecycle.life(case, lifecycle.calendar(repo))
                item = self.runtime.catalog.item(case.item_code)
                deadlines = life.deadlines
                progress = Progress(
                    case_number=case.number, item_name=item.name, state=case.state,
                    state_name=STATE_NAMES.get(case.state, case.state),
                    next_step=NEXT_STEPS.get(case.state, ""),
                    committed_due=deadlines.committed_due.isoformat()
                    if deadlines.committed_due else None,
                    working_days_left=deadlines.working_days_left, light=deadlines.light,
                    outstanding=outstanding_names(
                        case.state, report=case.report, tolerant=list(case.outstanding or []),
                        slot_names={s.code: s.name for s in item.slots}))
        if progress is None:
            self._audit(actor, "not_found", number, tag)
            raise IntakeError("progress.not_found")
        self._audit(actor, "ok", number, tag)
        return progress

    def _audit(self, actor: Actor, result: str, number: str, tag: str) -> None:
        # The case number the caller typed is kept only when it names a case shape, so a
        # person's data typed into the field never lands in the audit log.
        ref = number if _CASE_NUMBER.fullmatch(number) else None
        self.runtime.audit_writer.append(actor, "progress.query", result=result,
                                         case_ref=ref, detail={"client": tag})


_CASE_NUMBER = re.compile(r"[A-Z]{1,4}\d{8}-[0-9A-F]{4,12}")
