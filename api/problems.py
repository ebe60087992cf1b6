"""RFC 9457 problem details: every error leaves the API as `application/problem+json` with a
stable `code`. This module is the one place where exceptions become HTTP responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from intake.errors import IntakeError

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str = "",
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:docintake:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "code": problem.code,
        "instance": request.url.path,
    }
    if problem.detail:
        body["detail"] = problem.detail
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON,
                        headers=problem.headers)


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
           422: "Unprocessable request", 500: "Internal error"}


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(IntakeError)
    async def _intake(request: Request, exc: IntakeError) -> JSONResponse:
        return problem_response(
            request, Problem(exc.status, exc.code, _TITLES.get(exc.status, "Error"), exc.message))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(err["loc"]), "msg": err["msg"]} for err in exc.errors()]
        return problem_response(request, Problem(
            422, "request.invalid", _TITLES[422],
            "请求参数有误。(The request is missing or has invalid fields.)", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route.not_found", 405: "method.not_allowed"}.get(
            exc.status_code, f"http.{exc.status_code}")
        return problem_response(request, Problem(
            exc.status_code, code, _TITLES.get(exc.status_code, "Error"), str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, Problem(
            500, "internal.error", _TITLES[500],
            "服务内部错误，请稍后重试。(Internal error; please retry later.)"))
