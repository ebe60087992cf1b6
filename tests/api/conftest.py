from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key
from tests.helpers import serve_in_thread


@dataclass
class LiveApi:
    base_url: str
    keys: dict[str, str]
    runtime: Runtime

    def client(self, role: str | None = None, key: str | None = None) -> httpx.Client:
        headers = {}
        if role or key:
            headers["Authorization"] = f"Bearer {key or self.keys[role or '']}"
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=60)

    def wait_for_batch(self, batch_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client("clerk") as c:
            while True:
                body: dict[str, Any] = c.get(f"/batches/{batch_id}").json()
                if body["status"] == "completed" or time.monotonic() > deadline:
                    return body
                time.sleep(0.2)


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    """The real app on a real socket, with one key per role."""
    settings = load_settings(data_dir=tmp_path / "data", task_mode="thread")
    runtime = Runtime.from_settings(settings)
    keys = {}
    with runtime.database.session() as session:
        for role in ("clerk", "reviewer", "admin", "system"):
            keys[role] = create_api_key(session, role=role, name=f"test {role}")[1]
    url, stop = serve_in_thread(create_app(runtime))
    try:
        yield LiveApi(url, keys, runtime)
    finally:
        stop()
        runtime.close()
