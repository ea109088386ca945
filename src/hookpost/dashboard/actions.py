"""The project pages' actions (POST): each one calls the service the REST API's route calls.

Creating an endpoint here calls :func:`hookpost.services.endpoints.create` with
the body the form describes, validated by the same pydantic schema
(:mod:`hookpost.web.schemas`) -- so the SSRF check, the profile's secret
rules, the plan limit, the dispatcher wake-up and every future rule apply to
the dashboard without being written twice. A refusal comes back as the API's
message, shown next to the field it names; success redirects (303) so a
reload repeats nothing.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request, Response
from pydantic import ValidationError

from hookpost.dashboard import views
from hookpost.dashboard.forms import (
    ENDPOINT_FIELDS,
    FieldErrors,
    Form,
    endpoint_body,
    endpoint_values,
    problem_errors,
    pydantic_errors,
)
from hookpost.dashboard.html import notice_redirect, render
from hookpost.dashboard.portal_api import PortalLinkIn, make_link
from hookpost.dashboard.state import store
from hookpost.dashboard.surface import Surface
from hookpost.domain import Invalid, LimitReached
from hookpost.profiles import ed25519
from hookpost.services import deliveries, endpoints
from hookpost.web import render as shapes
from hookpost.web.schemas import (
    EndpointIn,
    EndpointPatch,
    ProjectRecoverIn,
    RecoverIn,
    RotateIn,
    TestIn,
)
from hookpost.web.state import runtime, waker

_REFUSALS = (Invalid, LimitReached)


async def create_endpoint(request: Request, s: Surface, form: Form) -> Response:
    body, errors = endpoint_body(form, creating=True)
    status = 422
    try:
        model = EndpointIn.model_validate(body)
    except ValidationError as exc:
        errors = {**pydantic_errors(exc), **errors}
    if not errors:
        try:
            state = runtime(request)
            created = await endpoints.create(
                state.store, state.settings, state.destinations, s.project_id, model.model_dump()
            )
        except _REFUSALS as exc:
            errors = problem_errors(exc, ENDPOINT_FIELDS)
            status = 409 if isinstance(exc, LimitReached) else 422
        else:
            return notice_redirect(
                request, s.url(f"/endpoints/{created.endpoint['id']}", done="created")
            )
    values = endpoint_values(form, await views.catalog_names(request, s))
    return await views.endpoint_form(request, s, values=values, errors=errors, status=status)


async def edit_endpoint(request: Request, s: Surface, form: Form) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    current = await store(request).get_endpoint(s.project_id, endpoint_id)  # 404 first
    body, errors = endpoint_body(form, creating=False)
    try:
        model = EndpointPatch.model_validate(body)
    except ValidationError as exc:
        errors = {**pydantic_errors(exc), **errors}
    if not errors:
        try:
            await _update(request, s, endpoint_id, model)
        except _REFUSALS as exc:
            errors = problem_errors(exc, ENDPOINT_FIELDS)
        else:
            return notice_redirect(request, s.url(f"/endpoints/{endpoint_id}", done="saved"))
    values = endpoint_values(form, await views.catalog_names(request, s))
    values["profile"] = current["profile"]
    return await views.endpoint_form(
        request,
        s,
        values=values,
        errors=errors,
        endpoint=shapes.endpoint(current),
        status=422,
    )


async def _update(request: Request, s: Surface, endpoint_id: str, body: EndpointPatch) -> None:
    state = runtime(request)
    values = body.model_dump(exclude_unset=True)
    await endpoints.update(
        state.store, state.settings, state.destinations, s.project_id, endpoint_id, values
    )


async def set_enabled(request: Request, s: Surface, form: Form) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    enabled = form.one("enabled") == "1"
    await _update(request, s, endpoint_id, EndpointPatch(enabled=enabled))
    done = "enabled" if enabled else "disabled"
    return notice_redirect(request, s.url(f"/endpoints/{endpoint_id}", done=done))


async def release_held(request: Request, s: Surface, form: Form) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    await endpoints.release_held(store(request), s.project_id, endpoint_id, waker(request))
    return notice_redirect(request, s.url(f"/endpoints/{endpoint_id}", done="released"))


async def reveal_secret(request: Request, s: Surface, form: Form) -> Response:
    """Answer the POST with the page itself: a secret never sits in a URL or the history.

    An ed25519 endpoint's private key is never revealed, only its public key.
    """
    ep = await store(request).get_endpoint(s.project_id, request.path_params["endpoint_id"])
    if ep["secret"] is None:
        message = "This endpoint's secret cannot be decrypted (check HOOKPOST_SECRET_KEY)."
        return await views.endpoint_page(request, s, message=message, status=409)
    await _revealed(request, s, ep, ["secret"])
    return await views.endpoint_page(request, s, secret=ed25519.shown_key(ep["secret"]))


async def _revealed(request: Request, s: Surface, ep: dict[str, Any], what: list[str]) -> None:
    """Record that the operator was shown ``what`` (field or header names, never values)."""
    await store(request).record_audit(
        "endpoint.secret.reveal",
        "endpoint",
        ep["id"],
        project_id=s.project_id,
        after={"revealed": what},
    )


async def reveal_headers(request: Request, s: Surface, form: Form) -> Response:
    """The operator reads the endpoint's secret header values, on purpose (never a portal).

    Like the signing secret: the answer to a POST, so the values never sit in
    a URL or the history, and the page is not cached.
    """
    ep = await store(request).get_endpoint(s.project_id, request.path_params["endpoint_id"])
    names = [f"headers.{name}" for name in ep["secret_headers"]]
    await _revealed(request, s, ep, names)
    return await views.endpoint_page(request, s, revealed_headers=dict(ep["headers"]))


async def rotate_secret(request: Request, s: Surface, form: Form) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    hours = form.one("grace_hours", "24").strip()
    try:
        grace = round(float(hours) * 3600)
        body = RotateIn.model_validate({"grace_period_seconds": grace})
    except (ValueError, OverflowError):  # not a number, or inf; a ValidationError is one too
        errors: FieldErrors = {"grace_hours": "must be a number of hours from 0 to 168"}
        return await views.endpoint_page(request, s, errors=errors, status=422)
    rotated = await endpoints.rotate_secret(
        store(request),
        s.project_id,
        endpoint_id,
        secret=body.secret,
        signing=body.signing,
        grace_period_seconds=body.grace_period_seconds,
    )
    what = "key pair" if shapes.endpoint(rotated.endpoint)["public_key"] else "secret"
    message = (
        f"{what.capitalize()} rotated. The previous {what} keeps signing alongside it for "
        f"{hours} h, so receivers can switch without missing a delivery."
    )
    return await views.endpoint_page(request, s, secret=rotated.secret, message=message)


async def send_test(request: Request, s: Surface, form: Form) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    test = TestIn()
    await endpoints.send_test(
        store(request), s.project_id, endpoint_id, test.event_type, test.payload, waker(request)
    )
    return notice_redirect(request, s.url("/deliveries", endpoint_id=endpoint_id, done="test_sent"))


async def resend(request: Request, s: Surface, form: Form) -> Response:
    delivery_id = request.path_params["delivery_id"]
    await deliveries.resend(store(request), s.project_id, delivery_id, waker(request))
    return notice_redirect(request, s.url(f"/deliveries/{delivery_id}", done="resent"))


_HAS_ZONE = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


def _utc(value: str) -> str:
    """A ``datetime-local`` value ("2025-01-31T12:00") read as UTC, as the page says."""
    value = value.strip()
    return value if not value or _HAS_ZONE.search(value) else value + "Z"


async def recover(request: Request, s: Surface, form: Form) -> Response:
    """Resend the failed deliveries since a time: count and ask first, then queue the job."""
    values = {"since": form.one("since"), "endpoint_id": form.one("endpoint_id")}
    try:
        body = ProjectRecoverIn.model_validate(
            {"since": _utc(values["since"]), "endpoint_id": values["endpoint_id"] or None}
        )
    except ValidationError as exc:
        return await views.failed_page(
            request, s, values=values, errors=pydantic_errors(exc), status=422
        )
    st = store(request)
    if form.one("confirm") != "1":
        if body.endpoint_id is not None:
            await st.get_endpoint(s.project_id, body.endpoint_id)  # 404 for another's
        count = await st.count_recoverable(
            s.project_id, body.endpoint_id, body.since.timestamp(), None
        )
        return await views.failed_page(request, s, values=values, count=count)
    until = body.until.timestamp() if body.until else None
    await deliveries.recover(
        st, s.project_id, body.endpoint_id, body.since.timestamp(), until, waker(request)
    )
    return notice_redirect(request, s.url("/failed", done="recover"))


#: What an id can be (generated ids, and event ids publishers choose).
_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,255}")
#: Most deliveries one "Resend selected" takes (two pages of a list).
MAX_SELECTED = 2 * views.PAGE_SIZE


def _back(s: Surface, target: str, **query: Any) -> str:
    """A page of this project to return to (never another site), with ``query`` set."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(s.base + "/"):
        return s.url("/deliveries", **query)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "n", "fragment")]
    params = urlencode([*kept, *((k, str(v)) for k, v in query.items())])
    return parts.path + ("?" + params if params else "")


async def resend_selected(request: Request, s: Surface, form: Form) -> Response:
    """Resend the deliveries ticked in a list: first say how many and ask, then do it.

    One more attempt each, as the Resend button gives one; a delivery being
    attempted right then, or not of this project, is left out and counted.
    """
    ids = list(dict.fromkeys(i.strip() for i in form.many("delivery_id") if i.strip()))
    back = _back(s, form.one("back"))
    error = None
    if not ids:
        error = "Select at least one delivery to resend."
    elif len(ids) > MAX_SELECTED:
        error = f"Select at most {MAX_SELECTED} deliveries at once."
    if error or form.one("confirm") != "1":
        return render(
            request,
            "confirm_resend.html",
            {"ids": ids, "back": back, "error": error},
            surface=s,
            status=422 if error else 200,
        )
    # No id has other characters (and a NUL would break PostgreSQL): those are left out.
    wanted = [i for i in ids if _ID.fullmatch(i)]
    resent = await deliveries.resend_many(store(request), s.project_id, wanted, waker(request))
    done = "resent_selected" if resent == len(ids) else "resent_some"
    return notice_redirect(request, _back(s, back, done=done, n=resent))


async def recover_endpoint(request: Request, s: Surface, form: Form) -> Response:
    """Resend this endpoint's failed deliveries since a time: first say how many, then do it.

    The first POST only counts and asks to confirm (nothing changes); the
    second, with ``confirm``, queues the same background job as
    ``POST .../endpoints/{id}/recover``.
    """
    endpoint_id = request.path_params["endpoint_id"]
    since = form.one("since")
    try:
        body = RecoverIn.model_validate({"since": _utc(since)})
    except ValidationError as exc:
        return await views.endpoint_page(
            request,
            s,
            errors=pydantic_errors(exc),
            recover={"since": since, "count": None},
            status=422,
        )
    st = store(request)
    if form.one("confirm") != "1":
        count = await st.count_recoverable(s.project_id, endpoint_id, body.since.timestamp(), None)
        return await views.endpoint_page(request, s, recover={"since": since, "count": count})
    until = body.until.timestamp() if body.until else None
    await deliveries.recover(
        st, s.project_id, endpoint_id, body.since.timestamp(), until, waker(request)
    )
    return notice_redirect(request, s.url(f"/endpoints/{endpoint_id}", done="recover_endpoint"))


async def portal_link(request: Request, s: Surface, form: Form) -> Response:
    """The operator makes a portal link from the overview page (same as the API's)."""
    ctx: dict[str, Any] = await views.overview_context(request, s)
    chosen = {"scope": form.one("scope", "view"), "expires_in": form.one("expires_in", "3600")}
    ctx["portal_values"] = chosen  # the form keeps what was chosen, for the next link too
    try:
        body = PortalLinkIn.model_validate(chosen)
    except ValidationError as exc:
        ctx["portal_errors"] = pydantic_errors(exc)
        return render(request, "overview.html", ctx, surface=s, status=422)
    ctx["portal_link"] = await make_link(request, s.project_id, body)
    return render(request, "overview.html", ctx, surface=s)


async def save_settings(request: Request, s: Surface, form: Form) -> Response:
    """The owner's project settings, from the overview page: viewers_see_payloads."""
    allowed = form.one("viewers_see_payloads") == "on"
    await store(request).set_viewers_see_payloads(s.project_id, allowed)
    done = "payloads_shown" if allowed else "payloads_hidden"
    return notice_redirect(request, s.url(done=done))
