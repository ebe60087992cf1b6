"""Errors intake reports to its callers: a stable code, an HTTP-ish kind, and a message a
clerk understands. The API maps them to RFC 9457 problems in one place."""

from __future__ import annotations


class IntakeError(Exception):
    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(IntakeError):
    status = 404


class InvalidRequest(IntakeError):
    status = 422


class Conflict(IntakeError):
    status = 409


class TooLarge(IntakeError):
    status = 413


class Forbidden(IntakeError):
    status = 403
