"""The OpenAPI document, completed: every operation states the error statuses it can
answer with, as `application/problem+json` bodies of one `Problem` schema (what
`api.problems` writes), and parameters the services require are declared required even
where the route leaves the check to the service (so that a refusal can be audited).

Which statuses an operation states is derived from the route itself, so routes added
later are covered without listing them here:

* 401, 403 and 404 (and 429 once rate limits are registered) for a route that needs a
  key: a key may not see every object, and a body may name one that does not exist;
* 404 for a route with path parameters; 422 for a route with any parameter or body; 400
  and 413 for a route with a body; 409 for a route that changes something;
* whatever the route declares itself with `responses=problem_responses(...)`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.guard import api_routes, needs_key
from api.problems import PROBLEM_JSON
from intake.errors import REGISTRY

REQUIRED: dict[str, Any] = {"x-docintake-required": True}
"""`Query(json_schema_extra=REQUIRED)`: documented as required, checked by the service."""

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable `code` (see the error registry).",
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:docintake:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "examples": ["case.not_found"]},
        "detail": {"type": "string", "description": "中文。(English.)"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"},
                   "description": "for request.invalid: each field and what is wrong"},
    },
    "additionalProperties": True,
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers with these statuses beyond the derived ones."""
    return {status: _problem(status) for status in statuses}


def _problem(status: int) -> dict[str, Any]:
    return {"description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def _statuses(route: APIRoute, method: str) -> set[int]:
    statuses: set[int] = set()
    has_body = route.body_field is not None or bool(
        (route.openapi_extra or {}).get("requestBody"))
    if needs_key(route.dependant):
        statuses |= {401, 403, 404}
        if any(spec.status == 429 and code.startswith("rate.")
               for code, spec in REGISTRY.items()):
            statuses.add(429)
    if route.dependant.path_params:
        statuses.add(404)
    if has_body or route.dependant.query_params or route.dependant.path_params \
            or route.dependant.header_params:
        statuses.add(422)
    if has_body:
        statuses |= {400, 413}
    if method not in ("GET", "HEAD"):
        statuses.add(409)
    return statuses


def _require(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if schema.pop("x-docintake-required", False):
            parameter["required"] = True
            branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
            if branches:
                schema.update(branches[0])
            schema.pop("default", None)


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version,
                         description=app.description, routes=app.routes)
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, methods, route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in methods:
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(route, method)):
                answer = responses.setdefault(str(status), _problem(status))
                # FastAPI's own 422 describes its validation error; ours is a problem
                answer["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
            _require(operation)
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document at the app's `openapi_url`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
