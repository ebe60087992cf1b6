"""Everything the pages add to the app: the security headers, the static files, the page
routers and the redirect to the sign-in form."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.web import pages, review, supervision, window


def install(app: FastAPI) -> None:
    app.add_middleware(pages.SecureHeaders)
    app.mount("/static", StaticFiles(directory=str(pages.HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(window.router)
    app.include_router(review.router)
    app.include_router(supervision.router)

    @app.exception_handler(pages.SignInRequired)
    async def _to_sign_in(request: Request, _: pages.SignInRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)
