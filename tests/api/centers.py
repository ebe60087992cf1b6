"""Two service centers on a live app, with a key of every role in each (and a second clerk
and reviewer in the first), for the access, masking and matrix tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from intake.access import Principal
from intake.keys import KeyService
from intake.runtime import Runtime
from intake.settings import load_settings
from tests.helpers import serve_in_thread

ROLES = ("clerk", "reviewer", "approver", "admin", "system")
SYSTEM_PURPOSE = "个体工商户登记核验"
GLOBAL = Principal(None, "test operator", "admin")


@dataclass
class TwoCenters:
    base_url: str
    runtime: Runtime
    keys: dict[str, str] = field(default_factory=dict)  # "a.clerk" -> plaintext
    key_ids: dict[str, int] = field(default_factory=dict)

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=60)

    def wait_for_batch(self, batch_id: str, who: str = "global", timeout: float = 120
                       ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client(who) as c:
            while True:
                body: dict[str, Any] = c.get(f"/batches/{batch_id}").json()
                if body.get("status") in ("completed", "failed") \
                        or time.monotonic() > deadline:
                    return body
                time.sleep(0.1)


def start_two_centers(tmp_path: Path, **settings: Any) -> tuple[TwoCenters, Any]:
    """The live app with centers `a` and `b`; keys "a.clerk", "a.clerk2", "a.reviewer",
    "a.reviewer2", "a.approver", "a.admin", "a.system", the same for "b" (without the
    second clerk and reviewer), "global" (a global admin) and "default.clerk"."""
    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path / "data",
                                                  task_mode="thread", **settings))
    keys = KeyService(runtime)
    keys.create_center("a", "甲市政务服务中心", "350100", principal=GLOBAL)
    keys.create_center("b", "乙市政务服务中心", "350200", principal=GLOBAL)
    url, stop = serve_in_thread(create_app(runtime))
    api = TwoCenters(url, runtime)

    def issue(label: str, **options: Any) -> None:
        issued = keys.create_key(name=f"test {label}", principal=GLOBAL, **options)
        api.keys[label], api.key_ids[label] = issued.plaintext, issued.key.id

    for center in ("a", "b"):
        for role in ROLES:
            extra: dict[str, Any] = {}
            if role == "system":
                extra = {"scopes": ["id_card"], "purposes": [SYSTEM_PURPOSE]}
            issue(f"{center}.{role}", role=role, center=center, **extra)
    issue("a.clerk2", role="clerk", center="a")
    issue("a.reviewer2", role="reviewer", center="a")
    issue("global", role="admin", global_admin=True)
    issue("default.clerk", role="clerk")
    return api, stop


def two_centers(tmp_path: Path, **settings: Any) -> Iterator[TwoCenters]:
    api, stop = start_two_centers(tmp_path, **settings)
    try:
        yield api
    finally:
        stop()
        api.runtime.close()
