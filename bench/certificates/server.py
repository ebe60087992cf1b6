"""The app under benchmark: the production app plus one trivial authenticated endpoint
(`GET /api/v1/bench/ping`: key lookup and role check, nothing else) as the baseline.
Started by uvicorn with `--factory bench.certificates.server:app`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.app import API_PREFIX, create_app
from api.auth import AnyRole
from intake.runtime import Runtime
from intake.settings import load_settings


def app() -> FastAPI:
    runtime = Runtime.from_settings(load_settings(), migrate=False)
    application = create_app(runtime)
    ping = APIRouter()

    @ping.get("/bench/ping")
    def trivial(principal: AnyRole) -> dict[str, str]:
        return {"role": principal.role}

    application.include_router(ping, prefix=API_PREFIX)
    return application
