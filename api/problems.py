"""RFC 9457 problem details: every error leaves the API as `application/problem+json` with a
stable `code`. This module is the one place where exceptions become HTTP responses; the
codes, statuses and messages themselves live in the registry, `intake.errors`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from intake.errors import IntakeError
from intake.masking import mask_text

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(request: Request, error: IntakeError) -> JSONResponse:
    # Messages and echoed input may quote an ID number (a mistyped case id, a holder id):
    # no role needs its own input echoed in full, so every error body is masked.
    body: dict[str, Any] = {
        "type": f"urn:docintake:problem:{error.code}",
        "title": _title(error.status),
        "status": error.status,
        "code": error.code,
        "detail": mask_text(error.message),
        "instance": mask_text(request.url.path),
    }
    body.update(_masked(error.extra))
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM_JSON,
                        headers=error.headers)


def _masked(data: Any) -> Any:
    if isinstance(data, str):
        return mask_text(data)
    if isinstance(data, list):
        return [_masked(v) for v in data]
    if isinstance(data, dict):
        return {k: _masked(v) for k, v in data.items()}
    return data


def install(app: FastAPI) -> None:
    @app.exception_handler(IntakeError)
    async def _intake(request: Request, exc: IntakeError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(err["loc"]), "msg": err["msg"]} for err in exc.errors()]
        return problem_response(request, IntakeError("request.invalid",
                                                     extra={"errors": errors}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own refusals: an unknown route or method, a body it cannot parse.
        code = {404: "route.not_found", 405: "method.not_allowed",
                413: "request.too_large"}.get(exc.status_code, "request.malformed")
        return problem_response(request, IntakeError(code, headers=dict(exc.headers or {})))

    @app.exception_handler(StatementError)
    async def _refused_by_database(request: Request, exc: StatementError) -> JSONResponse:
        # The last line of defence behind the checks of request text and numbers: a value
        # the database cannot take (NUL, out of range, too long) is the request's fault.
        # Anything else the database raised is still a 500.
        if isinstance(exc, DataError) or isinstance(exc.orig, ValueError | OverflowError):
            log.warning("a request value the database refused: %s", type(exc.orig).__name__,
                        extra={"code": "request.invalid"})
            return problem_response(request, IntakeError("request.invalid"))
        raise exc

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # a number from the request too large for the database or a date computation
        log.warning("a request value overflowed: %s", exc, extra={"code": "request.invalid"})
        return problem_response(request, IntakeError("request.invalid"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, IntakeError("internal.error"))
