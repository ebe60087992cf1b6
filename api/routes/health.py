"""Operational endpoints, outside `/api/v1`.

* `GET /healthz` — the process is alive and serving (no dependency is checked, so a
  database outage does not get every API container restarted). Unauthenticated.
* `GET /readyz` — the database, the broker (when batches go to Celery workers) and the
  object store answer; 503 with the failing parts otherwise. Unauthenticated: it tells
  only which part is down, never why in detail.
* `GET /metrics` — Prometheus text format: this process's event metrics plus the cluster's
  state read from the database and the broker (`intake.metrics`). It needs a bearer key
  of role `admin` or `system` (Prometheus: `authorization: {credentials_file: …}`),
  because page counts per failure reason say something about the service's load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy import text

from api.auth import Principal, require
from intake.metrics import state_registry
from intake.runners import CeleryRunner, TaskRunner
from intake.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

MetricsReader = Annotated[Principal, require("admin", "system")]
PROBE_KEY = "readyz/probe"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _runner(request: Request) -> TaskRunner:
    runner: TaskRunner = request.app.state.service.runner
    return runner


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check(name: str, probe: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:
        log.warning("readiness: %s unreachable: %s", name, type(exc).__name__)
        return {"name": name, "ok": False, "error": type(exc).__name__}
    return {"name": name, "ok": True,
            "ms": round((time.perf_counter() - started) * 1000, 1)}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    runtime = _runtime(request)

    def database() -> None:
        with runtime.database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    checks = [_check("database", database),
              _check("objects", lambda: runtime.objects.exists(PROBE_KEY))]
    runner = _runner(request)
    if isinstance(runner, CeleryRunner):
        checks.append(_check("broker", runner.ping))
    ready = all(c["ok"] for c in checks)
    return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, _: MetricsReader) -> Response:
    state: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if state is None:
        runner = _runner(request)
        depths = runner.queue_depths if isinstance(runner, CeleryRunner) else None
        state = state_registry(_runtime(request).database, depths,
                               case_lights=request.app.state.service.lifecycle.light_counts)
        request.app.state.metrics_registry = state
    body = generate_latest(REGISTRY) + generate_latest(state)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
