"""The framework helpers, each inside its own framework: raw body in, 400/401 out.

Each test signs a real body with a profile, then sends it through the
framework's test client three ways: as signed (the handler runs and gets the
event), tampered (401, the handler never runs) and unsigned (400).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import django
import flask
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookpost.core.signing import generate_secret
from hookpost.profiles import EventData, get_profile
from hookpost.receiver.flask import verify_webhook as flask_verify_webhook
from hookpost.receiver.starlette import verified_event, webhook_dependency

SECRET = generate_secret()
STANDARD_DEPENDENCY = webhook_dependency(SECRET)
PAYLOAD = {"id": 71, "amount": 10, "note": "Төлөгдсөн"}


def signed(profile: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    prof = get_profile(profile)
    body = prof.body(EventData("evt_fw", "invoice.paid", time.time(), PAYLOAD, "prj_fw"))
    headers = prof.sign(msg_id="evt_fw", timestamp=time.time(), body=body, secrets=[secret])
    return body, {"Content-Type": "application/json", **headers}


def tampered(body: bytes) -> bytes:
    out = body.replace(b'"amount":10', b'"amount":99')
    assert out != body
    return out


def check_client(post: Any, path: str, profile: str, handled: list[Any]) -> None:
    """The three cases, through ``post(path, body, headers) -> (status, json)``."""
    body, headers = signed(profile)
    status, answer = post(path, body, headers)
    assert status == 200, answer
    assert handled and handled[-1]["data"]["object"] == PAYLOAD
    count = len(handled)

    status, answer = post(path, tampered(body), headers)
    assert status == 401, answer
    status, answer = post(path, body, {"Content-Type": "application/json"})
    assert status == 400, answer
    _, wrong_secret = signed(profile, generate_secret())
    status, _ = post(path, body, wrong_secret)
    assert status == 401
    assert len(handled) == count  # the handler never saw a bad request


# -- FastAPI / Starlette ---------------------------------------------------------


def test_fastapi_dependency() -> None:
    handled: list[Any] = []
    app = FastAPI()
    secrets_now = [SECRET]

    verified = webhook_dependency(lambda: secrets_now, profile="byl")

    # (Depends() as a default: annotations are strings here and can't see locals)
    @app.post("/byl")
    async def byl_hook(event: Any = Depends(verified)) -> dict[str, bool]:
        handled.append(event)
        return {"ok": True}

    client = TestClient(app)

    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        r = client.post(path, content=body, headers=headers)
        return r.status_code, r.json()

    check_client(post, "/byl", "byl", handled)
    # the secret source is read per request: rotate it and the old one stops working
    body, headers = signed("byl")
    secrets_now[:] = [generate_secret()]
    assert post("/byl", body, headers)[0] == 401


def test_fastapi_dependency_error_bodies_name_the_problem() -> None:
    app = FastAPI()

    @app.post("/hook")
    async def hook(event: Annotated[Any, Depends(STANDARD_DEPENDENCY)]) -> None:
        return None

    r = TestClient(app).post("/hook", content=b"{}", headers={"webhook-id": "x"})
    assert r.status_code == 400
    assert "webhook-timestamp" in r.json()["detail"]


def test_starlette_helper() -> None:
    handled: list[Any] = []

    async def hook(request: Request) -> JSONResponse:
        event = await verified_event(request, SECRET, profile="stripe")
        handled.append(event)
        # the raw body stays readable after verification
        assert json.loads(await request.body()) == event
        return JSONResponse({"ok": True})

    client = TestClient(Starlette(routes=[Route("/stripe", hook, methods=["POST"])]))

    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        r = client.post(path, content=body, headers=headers)
        return r.status_code, r.text

    check_client(post, "/stripe", "stripe", handled)


# -- Flask ------------------------------------------------------------------------


def test_flask_decorator() -> None:
    handled: list[Any] = []
    app = flask.Flask(__name__)

    @app.post("/justwallet/<tenant>")
    @flask_verify_webhook(SECRET, profile="justwallet")
    def hook(event: Any, tenant: str) -> tuple[dict[str, str], int]:
        handled.append({"data": {"object": event["data"]}, "tenant": tenant})
        # the raw body is still there for the view
        assert json.loads(flask.request.get_data()) == event
        return {"tenant": tenant}, 200

    client = app.test_client()

    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        r = client.post(path, data=body, headers=headers)
        return r.status_code, r.get_json()

    check_client(post, "/justwallet/acme", "justwallet", handled)
    assert handled[0]["tenant"] == "acme"
    status, answer = post("/justwallet/acme", b"{}", {})
    assert (status, list(answer)) == (400, ["error"])


# -- Django ---------------------------------------------------------------------


def _django() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            INSTALLED_APPS=[],
        )
        django.setup()


DJANGO_HANDLED: list[Any] = []
urlpatterns: list[Any] = []


def _django_urls() -> None:
    if urlpatterns:
        return
    from django.http import HttpRequest, JsonResponse
    from django.urls import path

    from hookpost.receiver.django import verify_webhook

    @verify_webhook(SECRET, profile="galaxyjoy")
    def galaxyjoy_hook(request: HttpRequest, event: Any, tenant: str) -> JsonResponse:
        DJANGO_HANDLED.append({"data": {"object": event["body"]}, "tenant": tenant})
        return JsonResponse({"ok": True})

    @verify_webhook(lambda: [SECRET], profile="gluwa")
    async def gluwa_hook(request: HttpRequest, event: Any) -> JsonResponse:
        DJANGO_HANDLED.append({"data": {"object": event["Resource"]}})
        return JsonResponse({"ok": True})

    urlpatterns.extend([path("gj/<str:tenant>", galaxyjoy_hook), path("gluwa", gluwa_hook)])


def test_django_decorator_sync_view_is_csrf_exempt() -> None:
    _django()
    _django_urls()
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # a real CSRF check would 403 a webhook

    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        r = client.post(path, data=body, content_type="application/json", headers=headers)
        return r.status_code, r.content

    check_client(post, "/gj/acme", "galaxyjoy", DJANGO_HANDLED)
    assert DJANGO_HANDLED[-1]["tenant"] == "acme"
    assert client.get("/gj/acme").status_code == 405


async def test_django_decorator_async_view() -> None:
    _django()
    _django_urls()
    from django.test import AsyncClient

    client = AsyncClient(enforce_csrf_checks=True)
    body, headers = signed("gluwa")
    before = len(DJANGO_HANDLED)
    r = await client.post("/gluwa", data=body, content_type="application/json", headers=headers)
    assert r.status_code == 200, r.content
    assert DJANGO_HANDLED[-1]["data"]["object"] == PAYLOAD
    r = await client.post(
        "/gluwa", data=tampered(body), content_type="application/json", headers=headers
    )
    assert r.status_code == 401
    assert json.loads(r.content)["error"] == "no matching signature"
    assert len(DJANGO_HANDLED) == before + 1
