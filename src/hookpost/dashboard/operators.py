"""The team's pages: set a password from a one-time link, the Operators page, the Tokens page.

- ``/set-password/<token>``: the link ``hookpost users create`` or an owner's
  invitation hands out. The token in the path is the credential (like a
  portal link's), so its form's CSRF token is derived from it; the page
  names the account and asks for the password twice.
- ``/operators`` (permission ``operators.manage``: owners): invite (create
  with a role, optionally limited to projects; the set-password link is
  shown once), change a role, disable or enable, reset a password.
- ``/tokens`` (every operator): personal API tokens -- create (shown once),
  the list by prefix with expiry and last use, revoke.

Every POST goes through the session's CSRF check; every change goes through
the store methods that keep the rules (the last owner stays an owner).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from hookpost.dashboard.auth import Who, check_csrf, operator_session, require
from hookpost.dashboard.forms import Form, read_form
from hookpost.dashboard.html import HtmlRoute, PageError, redirect, render, root_path
from hookpost.dashboard.state import dashboard, store
from hookpost.domain import Conflict, Invalid, NotFound, roles
from hookpost.services import accounts
from hookpost.web import render as shapes
from hookpost.web.links import public_link
from hookpost.web.schemas import MAX_TOKEN_DAYS, iso

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

WhoDep = Annotated[Who, Depends(operator_session)]


def _csrf(request: Request, who: Who) -> str:
    return dashboard(request).signer.csrf_token(who.sid)


async def _form(request: Request, who: Who) -> Form:
    form = await read_form(request)
    check_csrf(request, _csrf(request, who), form)
    return form


# -- set a password from a one-time link -------------------------------------------


def _setup_csrf(request: Request, token: str) -> str:
    return dashboard(request).signer.csrf_token("setup:" + token)


async def _link_operator(request: Request, token: str) -> dict[str, Any]:
    try:
        return await store(request).setup_link_operator(token)
    except NotFound:
        raise PageError(
            404,
            "Link not valid",
            "This set-password link was already used or has expired. Ask an owner for a new "
            "one (hookpost users reset-password EMAIL).",
        ) from None


@router.get("/set-password/{token}", name="set_password")
async def set_password_page(request: Request, token: str) -> Response:
    operator = await _link_operator(request, token)
    return _set_password_form(request, token, operator, {})


def _set_password_form(
    request: Request,
    token: str,
    operator: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "set_password.html",
        {
            "email": operator["email"],
            "token": token,
            "setup_csrf": _setup_csrf(request, token),
            "errors": errors,
        },
        status=status,
    )


@router.post("/set-password/{token}")
async def set_password(request: Request, token: str) -> Response:
    operator = await _link_operator(request, token)
    form = await read_form(request)
    check_csrf(request, _setup_csrf(request, token), form)
    try:
        await accounts.set_password(
            store(request), token, form.one("password"), form.one("confirm")
        )
    except Invalid as exc:
        return _set_password_form(request, token, operator, dict(exc.problems), status=422)
    return redirect(f"{root_path(request)}/login?password_set=1")


# -- operators (owners) ------------------------------------------------------------


def _operator_row(row: dict[str, Any]) -> dict[str, Any]:
    state = "disabled" if row["disabled_at"] else ("active" if row["has_password"] else "invited")
    return {
        "id": row["id"],
        "email": row["email"],
        "role": row["role"],
        "projects": row["projects"] or [],
        "state": state,
        "created_at": iso(row["created_at"]),
    }


_IDS = re.compile(r"[\s,]+")


def _project_ids(text: str) -> list[str] | None:
    ids = [p for p in _IDS.split(text.strip()) if p]
    return ids or None


async def _operators_page(
    request: Request,
    who: Who,
    *,
    made: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    require(who, roles.OPERATORS_MANAGE)
    rows = await store(request).list_operators()
    return render(
        request,
        "operators.html",
        {
            "who": who,
            "csrf": _csrf(request, who),
            "operators": [_operator_row(r) for r in rows],
            "roles": roles.ROLES,
            "made": made,
            "errors": errors or {},
            "values": values or {"email": "", "role": "operator", "projects": ""},
        },
        status=status,
    )


def _link(request: Request, token: str) -> str:
    return public_link(request, "set_password", token=token)


@router.get("/operators", name="operators")
async def operators_page(request: Request, who: WhoDep) -> Response:
    return await _operators_page(request, who)


@router.post("/operators")
async def invite(request: Request, who: WhoDep) -> Response:
    form = await _form(request, who)
    require(who, roles.OPERATORS_MANAGE)
    values = {k: form.one(k).strip() for k in ("email", "role", "projects")}
    try:
        row, token = await store(request).create_operator(
            values["email"], values["role"], _project_ids(values["projects"])
        )
    except Invalid as exc:
        return await _operators_page(
            request, who, errors=dict(exc.problems), values=values, status=422
        )
    except Conflict as exc:
        return await _operators_page(
            request, who, errors={exc.field or "email": str(exc)}, values=values, status=409
        )
    made = {"email": row["email"], "link": _link(request, token), "what": "invited"}
    return await _operators_page(request, who, made=made)


async def _operator_action(request: Request, who: Who) -> Form:
    form = await _form(request, who)
    require(who, roles.OPERATORS_MANAGE)
    return form


@router.post("/operators/{operator_id}/role")
async def change_role(request: Request, who: WhoDep, operator_id: str) -> Response:
    form = await _operator_action(request, who)
    try:
        await store(request).update_operator(
            operator_id,
            role=form.one("role"),
            projects=_project_ids(form.one("projects")),
        )
    except (Invalid, Conflict) as exc:
        return await _operators_page(request, who, errors={operator_id: str(exc)}, status=409)
    return redirect(f"{root_path(request)}/operators")


@router.post("/operators/{operator_id}/disabled")
async def set_disabled(request: Request, who: WhoDep, operator_id: str) -> Response:
    form = await _operator_action(request, who)
    try:
        await store(request).set_operator_disabled(operator_id, form.one("disabled") == "1")
    except Conflict as exc:
        return await _operators_page(request, who, errors={operator_id: str(exc)}, status=409)
    return redirect(f"{root_path(request)}/operators")


@router.post("/operators/{operator_id}/reset-password")
async def reset_password(request: Request, who: WhoDep, operator_id: str) -> Response:
    await _operator_action(request, who)
    token = await store(request).reset_operator_password(operator_id)
    row = await store(request).get_operator(operator_id)
    made = {"email": row["email"], "link": _link(request, token), "what": "reset"}
    return await _operators_page(request, who, made=made)


# -- personal tokens (every operator) ----------------------------------------------


async def _tokens_page(
    request: Request,
    who: Who,
    *,
    made: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rows = (
        []
        if who.operator_id is None
        else await store(request).list_operator_tokens(who.operator_id)
    )
    return render(
        request,
        "tokens.html",
        {
            "who": who,
            "csrf": _csrf(request, who),
            "tokens": [shapes.token(r) for r in rows],
            "made": made,
            "errors": errors or {},
            "max_days": MAX_TOKEN_DAYS,
        },
        status=status,
    )


def _own(who: Who) -> str:
    if who.operator_id is None:
        raise PageError(
            403,
            "No personal tokens",
            "The admin token has no personal tokens. Sign in as an operator to make one.",
        )
    return who.operator_id


@router.get("/tokens", name="tokens")
async def tokens_page(request: Request, who: WhoDep) -> Response:
    return await _tokens_page(request, who)


@router.post("/tokens")
async def create_token(request: Request, who: WhoDep) -> Response:
    form = await _form(request, who)
    operator_id = _own(who)
    name, days = form.one("name").strip(), form.one("expires_in_days").strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 200:
        errors["name"] = "Give the token a name (up to 200 characters)."
    if days and not (days.isdigit() and 1 <= int(days) <= MAX_TOKEN_DAYS):
        errors["expires_in_days"] = f"A whole number of days from 1 to {MAX_TOKEN_DAYS}, or empty."
    if errors:
        return await _tokens_page(request, who, errors=errors, status=422)
    expires = store(request).clock.now() + int(days) * 86400.0 if days else None
    row, token = await store(request).create_operator_token(operator_id, name, expires)
    return await _tokens_page(request, who, made={**shapes.token(row), "token": token})


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, who: WhoDep, token_id: str) -> Response:
    await _form(request, who)
    await store(request).revoke_operator_token(_own(who), token_id)
    return redirect(f"{root_path(request)}/tokens")


__all__ = ["router"]
