"""Signing in to the console with an access token, and signing out.

A sign-in checks the token against the same table as the API's bearer tokens, then opens
a server-side session (`sessions.py`); the browser gets only the session id, in an
HttpOnly, SameSite=Strict cookie. The sign-in form carries a CSRF token of its own (a
random value in a short-lived cookie and in the form), so another site cannot sign a
browser in; the sign-out form carries the session's CSRF token.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Scope

from recaudit.access.errors import CsrfMissing, Unauthenticated
from recaudit.access.tokens import TokenTable
from recaudit.http.console.pages import render
from recaudit.http.console.sessions import COOKIE, CSRF_FIELD, SessionStore, cookie_value
from recaudit.http.errors import answer_for

LOGIN = "/console/login"
LOGIN_COOKIE = "recaudit_login"
LOGIN_COOKIE_S = 30 * 60


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page of this server, nothing else."""
    if target and target.startswith("/console/") and not target.startswith("//") and \
            "\\" not in target:
        return target
    return "/console/"


def refusal_page(exc: Exception, scope: Scope) -> ASGIApp:
    """A console page refused by the access gate: the way to sign in, or an error page."""
    if isinstance(exc, Unauthenticated):
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        here = str(scope["path"]) + (f"?{query}" if query else "")
        return RedirectResponse(f"{LOGIN}?next={quote(here, safe='')}", 303)
    found = answer_for(exc)
    return render(Request(scope), "error.html", {"code": found.code, "message": str(exc)},
                  found.status)


def signin_router(tokens: TokenTable, sessions: SessionStore) -> APIRouter:
    router = APIRouter()

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return form(request, tokens, safe_next(request.query_params.get("next")))

    @router.post("/login", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        target = safe_next(fields.get("next"))
        expected = cookie_value(request.scope.get("headers", ()), LOGIN_COOKIE)
        if not tokens.enabled:
            return RedirectResponse(target, 303)
        if not expected or not secrets.compare_digest(fields.get(CSRF_FIELD, ""), expected):
            return refused(request, CsrfMissing(
                "the sign-in form's CSRF token is missing or stale: reload the sign-in page"))
        principal = tokens.principal(fields.get("token", "").strip())
        if principal is None:
            return form(request, tokens, target, "That token is not valid.", 401)
        session = sessions.open(principal)
        answer = RedirectResponse(target, 303)
        answer.set_cookie(COOKIE, session.id, max_age=int(sessions.lifetime_s), path="/",
                          httponly=True, samesite="strict",
                          secure=request.url.scheme == "https")
        answer.delete_cookie(LOGIN_COOKIE, path=LOGIN)
        return answer

    @router.post("/logout", response_class=HTMLResponse)
    async def sign_out(request: Request) -> Response:
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        session = sessions.get(cookie_value(request.scope.get("headers", ())))
        if session is not None:
            if not session.allows(fields.get(CSRF_FIELD)):
                return refused(request, CsrfMissing(
                    "signing out needs the session's CSRF token: use the page's Sign out "
                    "button"))
            sessions.close(session.id)
        answer = RedirectResponse(f"{LOGIN}?signed_out=1", 303)
        answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return answer

    return router


def form(request: Request, tokens: TokenTable, target: str, problem: str | None = None,
         status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(24)
    context = {"enabled": tokens.enabled, "next": target, "problem": problem,
               "login_csrf": csrf, "signed_out": "signed_out" in request.query_params}
    answer = render(request, "login.html", context, status)
    answer.set_cookie(LOGIN_COOKIE, csrf, max_age=LOGIN_COOKIE_S, path=LOGIN, httponly=True,
                      samesite="strict", secure=request.url.scheme == "https")
    return answer


def refused(request: Request, exc: Exception) -> Response:
    found = answer_for(exc)
    return render(request, "error.html", {"code": found.code, "message": str(exc)},
                  found.status)
