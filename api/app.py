"""The FastAPI application: wiring only; behaviour lives in `intake`."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import openapi, problems
from api.guard import RequestGuard
from api.routes import (
    audit,
    cases,
    catalog,
    certificates,
    health,
    keys,
    lifecycle,
    notices,
    stacks,
)
from api.security import SecurityHeaders, install_docs, make_rate_limits
from api.web import site
from intake.assessments import reassess_outdated
from intake.certificates import CertificateService
from intake.outbox import WebhookSender
from intake.progress import ProgressService
from intake.runners import TaskRunner, make_runner, resume_unfinished
from intake.runtime import Runtime
from intake.service import IntakeService
from intake.stack_service import StackService

API_PREFIX = "/api/v1"


def create_app(runtime: Runtime, runner: TaskRunner | None = None) -> FastAPI:
    runner = runner or make_runner(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resume_unfinished(runtime, runner)
        # Case events leave through the outbox: each API process runs a sender; the
        # outbox's claims keep two senders from posting one event at once.
        sender = WebhookSender(runtime) if runtime.settings.webhook_url else None
        if sender is not None:
            sender.start()
        # Reports made with another catalog are made again once, here, not on reads; in
        # the background, so the API answers (with the stored reports) meanwhile.
        threading.Thread(target=reassess_outdated, args=(runtime,), daemon=True,
                         name="reassess-outdated").start()
        yield
        if sender is not None:
            sender.stop()
        runner.shutdown()

    # The documentation routes are added by `install_docs`, behind a key.
    app = FastAPI(title="docintake", version="0.1.0", lifespan=lifespan,
                  description="Document intake and OCR verification for service centers.",
                  docs_url=None, redoc_url=None, openapi_url=None)
    # Keys and body sizes are checked before any route reads a body (inside the security
    # headers, so that its refusals carry them too).
    app.add_middleware(RequestGuard, router=app.router, runtime=runtime)
    app.add_middleware(SecurityHeaders)
    app.state.runtime = runtime
    app.state.service = IntakeService(runtime, runner)
    app.state.certificates = CertificateService(runtime)
    app.state.progress = ProgressService(runtime)
    app.state.rate_limits = make_rate_limits(runtime)
    app.state.stacks = StackService(runtime, runner)
    problems.install(app)
    app.include_router(cases.router, prefix=API_PREFIX)
    app.include_router(lifecycle.router, prefix=API_PREFIX)
    app.include_router(notices.router, prefix=API_PREFIX)
    app.include_router(catalog.router, prefix=API_PREFIX)
    app.include_router(certificates.router, prefix=API_PREFIX)
    app.include_router(audit.router, prefix=API_PREFIX)
    app.include_router(keys.router, prefix=API_PREFIX)
    app.include_router(stacks.router, prefix=API_PREFIX)
    app.include_router(health.router)  # /healthz, /readyz, /metrics: outside /api/v1
    site.install(app)  # the people's pages, outside /api/v1
    install_docs(app, runtime)
    openapi.install(app)
    return app
