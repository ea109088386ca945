"""Every operation of the hookpost API, in the order of docs/api.md's sections.

Each method builds the request (see :mod:`hookpost.client._calls`); the
clients send it. Arguments left as None are not sent, so the server's
default applies. List methods take ``limit`` (1-200) and ``cursor`` (the
``next_cursor`` of the previous page); ``iterate`` follows the cursors.
Every POST method takes ``idempotency_key=``: your own key for the request
(an order id, say) instead of the fresh UUID each call gets, so that the
same request sent again by another process, after a restart, is answered
from the first one rather than run twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Unpack

from hookpost.client._calls import Call, clean, moment, operation
from hookpost.client._models import (
    ApiKey,
    ApiKeyCreated,
    AuditEntry,
    BatchResult,
    CustomProfile,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Endpoint,
    EndpointChanges,
    EndpointCreated,
    EndpointFields,
    Event,
    EventAccepted,
    EventType,
    Health,
    Job,
    Page,
    PortalLink,
    Project,
    ProjectCreated,
    Readiness,
    Recovery,
    Released,
    Token,
    TokenCreated,
)

__all__ = ["MAX_BATCH", "Operations"]

#: The most events one batch publish request takes.
MAX_BATCH = 500

_V1 = "/api/v1/projects"


def _paging(limit: int | None, cursor: str | None, **more: Any) -> dict[str, Any]:
    return clean({"limit": limit, "cursor": cursor, **more})


def _audit_filter(
    actor: str | None,
    actor_kind: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    project_id: str | None,
    since: str | datetime | None,
    until: str | datetime | None,
) -> dict[str, Any]:
    return clean(
        {
            "actor": actor,
            "actor_kind": actor_kind,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "project_id": project_id,
            "since": moment(since),
            "until": moment(until),
        }
    )


class Operations:
    """The API's operations; :class:`Client` and :class:`AsyncClient` inherit them."""

    # -- projects (admin token; a project key sees only its own project) --------

    @operation
    def create_project(
        self, name: str, *, idempotency_key: str | None = None
    ) -> Call[ProjectCreated]:
        """A new project (admin token); the answer's ``api_key`` is shown only once."""
        return Call("POST", _V1, {"name": name}, key=idempotency_key)

    @operation
    def list_projects(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Project]]:
        return Call("GET", _V1, params=_paging(limit, cursor))

    @operation
    def get_project(self, project_id: str) -> Call[Project]:
        return Call("GET", f"{_V1}/{project_id}")

    @operation
    def update_project(self, project_id: str, *, name: str) -> Call[Project]:
        """Rename the project (1-200 characters)."""
        return Call("PATCH", f"{_V1}/{project_id}", {"name": name})

    @operation
    def update_project_settings(
        self, project_id: str, *, viewers_see_payloads: bool
    ) -> Call[Project]:
        """The project's settings (an owner): whether viewers see payload bodies."""
        body = {"viewers_see_payloads": viewers_see_payloads}
        return Call("PATCH", f"{_V1}/{project_id}/settings", body)

    @operation
    def delete_project(self, project_id: str) -> Call[None]:
        """Delete the project and everything in it (admin token)."""
        return Call("DELETE", f"{_V1}/{project_id}")

    # -- API keys ------------------------------------------------------------------

    @operation
    def create_api_key(
        self,
        project_id: str,
        *,
        scope: Literal["full", "read", "publish"] = "full",
        name: str = "",
        idempotency_key: str | None = None,
    ) -> Call[ApiKeyCreated]:
        """A new key for the project; ``key`` in the answer is shown only once.

        ``scope``: ``full`` everything in the project, ``read`` GET only,
        ``publish`` only publishing events.
        """
        return Call(
            "POST",
            f"{_V1}/{project_id}/api-keys",
            {"scope": scope, "name": name},
            key=idempotency_key,
        )

    @operation
    def list_api_keys(
        self, project_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[ApiKey]]:
        return Call("GET", f"{_V1}/{project_id}/api-keys", params=_paging(limit, cursor))

    @operation
    def revoke_api_key(self, project_id: str, key_id: str) -> Call[ApiKey]:
        return Call("DELETE", f"{_V1}/{project_id}/api-keys/{key_id}")

    # -- endpoints -------------------------------------------------------------------

    @operation
    def create_endpoint(
        self,
        project_id: str,
        url: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[EndpointFields],
    ) -> Call[EndpointCreated]:
        """Register where events go; the answer's ``secret`` is shown only here.

        ``fields`` are those of :class:`EndpointFields`: ``event_types``,
        ``profile``, ``signing``, ``secret``, ``description``, ``headers``,
        ``secret_headers``, ``max_attempts``, ``timeout_seconds``, ``enabled``,
        ``ordering``, ``retry_schedule``, ``success_rule``, ``rate_limit``,
        ``max_concurrency``, ``filter``. None means "the server's default".
        """
        body = clean({"url": url, **fields})
        return Call("POST", f"{_V1}/{project_id}/endpoints", body, key=idempotency_key)

    @operation
    def list_endpoints(
        self, project_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Endpoint]]:
        return Call("GET", f"{_V1}/{project_id}/endpoints", params=_paging(limit, cursor))

    @operation
    def get_endpoint(self, project_id: str, endpoint_id: str) -> Call[Endpoint]:
        return Call("GET", f"{_V1}/{project_id}/endpoints/{endpoint_id}")

    @operation
    def update_endpoint(
        self, project_id: str, endpoint_id: str, **changes: Unpack[EndpointChanges]
    ) -> Call[Endpoint]:
        """Change only the fields given (:class:`EndpointChanges`); a None value
        clears a policy field back to the profile's default."""
        return Call("PATCH", f"{_V1}/{project_id}/endpoints/{endpoint_id}", dict(changes))

    @operation
    def delete_endpoint(self, project_id: str, endpoint_id: str) -> Call[None]:
        return Call("DELETE", f"{_V1}/{project_id}/endpoints/{endpoint_id}")

    @operation
    def rotate_secret(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        secret: str | None = None,
        grace_period_seconds: int | None = None,
        signing: Literal["hmac", "ed25519"] | None = None,
        idempotency_key: str | None = None,
    ) -> Call[EndpointCreated]:
        """A new secret (given, or generated); the old one keeps signing alongside
        for ``grace_period_seconds`` (default 1 day, at most 7)."""
        body = {"secret": secret, "grace_period_seconds": grace_period_seconds, "signing": signing}
        return Call(
            "POST",
            f"{_V1}/{project_id}/endpoints/{endpoint_id}/rotate-secret",
            clean(body),
            key=idempotency_key,
        )

    @operation
    def recover(
        self,
        project_id: str,
        endpoint_id: str,
        since: str | datetime,
        until: str | datetime | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Call[Recovery]:
        """Queue a job resending the endpoint's failed deliveries created in [since, until)."""
        body = clean({"since": moment(since), "until": moment(until)})
        return Call(
            "POST", f"{_V1}/{project_id}/endpoints/{endpoint_id}/recover", body, key=idempotency_key
        )

    @operation
    def send_test(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        event_type: str | None = None,
        payload: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Call[EventAccepted]:
        """Publish a test event (default type ``hookpost.test``) to this endpoint only."""
        body = clean({"event_type": event_type, "payload": payload})
        return Call(
            "POST", f"{_V1}/{project_id}/endpoints/{endpoint_id}/test", body, key=idempotency_key
        )

    @operation
    def release_held(
        self, project_id: str, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> Call[Released]:
        """Queue again the deliveries held while the endpoint was disabled."""
        return Call(
            "POST", f"{_V1}/{project_id}/endpoints/{endpoint_id}/release-held", key=idempotency_key
        )

    # -- events ----------------------------------------------------------------------

    @operation
    def publish(
        self,
        project_id: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Call[EventAccepted]:
        """Publish one event: one delivery per subscribed endpoint.

        ``event_id`` is your own idempotency key and then the event's id: the
        same id with the same event answers the first event again (nothing
        created), with another event raises :class:`Conflict`.
        """
        body = clean({"event_type": event_type, "payload": payload, "event_id": event_id})
        return Call("POST", f"{_V1}/{project_id}/events", body, key=idempotency_key)

    @operation
    def publish_batch(
        self,
        project_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> Call[BatchResult]:
        """Publish up to :data:`MAX_BATCH` events in one request, each checked on its own.

        Each event is a mapping with ``event_type``, ``payload`` and optionally
        ``event_id``, as :meth:`publish` takes them. The answer's ``data`` has
        one item per event, in order, with its own ``status``: 202 created,
        200 a repeated ``event_id`` (nothing created), 409 an ``event_id``
        already used by a different event, 422 an invalid event (``error``,
        ``message`` and ``detail`` say why). One bad event never rejects the
        others; only a malformed request as a whole raises.
        """
        body = {"events": list(events)}  # as given: the server judges each item
        return Call("POST", f"{_V1}/{project_id}/events/batch", body, key=idempotency_key)

    @operation
    def list_events(
        self,
        project_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        event_type: str | None = None,
        after: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        q: str | None = None,
    ) -> Call[Page[Event]]:
        """Newest first; ``order="asc", after=sequence`` to catch up on missed events.
        ``since``/``until`` bound the creation time, ``q`` is text the payload contains."""
        params = _paging(
            limit,
            cursor,
            event_type=event_type,
            after=after,
            order=order,
            since=moment(since),
            until=moment(until),
            q=q,
        )
        return Call("GET", f"{_V1}/{project_id}/events", params=params)

    @operation
    def get_event(self, project_id: str, event_id: str) -> Call[Event]:
        return Call("GET", f"{_V1}/{project_id}/events/{event_id}")

    # -- deliveries ------------------------------------------------------------------

    @operation
    def list_deliveries(
        self,
        project_id: str,
        *,
        status: DeliveryStatus | None = None,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[Delivery]]:
        params = _paging(
            limit,
            cursor,
            status=status,
            endpoint_id=endpoint_id,
            event_type=event_type,
            event_id=event_id,
        )
        return Call("GET", f"{_V1}/{project_id}/deliveries", params=params)

    @operation
    def get_delivery(self, project_id: str, delivery_id: str) -> Call[DeliveryDetail]:
        """The delivery with every attempt (request and response as sent and received)."""
        return Call("GET", f"{_V1}/{project_id}/deliveries/{delivery_id}")

    @operation
    def resend(
        self, project_id: str, delivery_id: str, *, idempotency_key: str | None = None
    ) -> Call[DeliveryDetail]:
        """Send the delivery again now, whatever its status."""
        return Call(
            "POST", f"{_V1}/{project_id}/deliveries/{delivery_id}/resend", key=idempotency_key
        )

    # -- event type catalog ------------------------------------------------------------

    @operation
    def create_event_type(
        self,
        project_id: str,
        name: str,
        *,
        description: str | None = None,
        schema: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Call[EventType]:
        """Add an event type to the catalog; with ``schema`` (JSON Schema) publishes
        of that type whose payload does not satisfy it are refused (422)."""
        body = clean({"name": name, "description": description, "schema": schema})
        return Call("POST", f"{_V1}/{project_id}/event-types", body, key=idempotency_key)

    @operation
    def seed_event_types(
        self,
        project_id: str,
        provider: Literal["galaxyjoy", "gluwa", "justwallet", "byl"],
        *,
        idempotency_key: str | None = None,
    ) -> Call[Page[EventType]]:
        """Add a known provider's event types to the catalog."""
        return Call(
            "POST",
            f"{_V1}/{project_id}/event-types/seed",
            {"provider": provider},
            key=idempotency_key,
        )

    @operation
    def list_event_types(
        self, project_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[EventType]]:
        return Call("GET", f"{_V1}/{project_id}/event-types", params=_paging(limit, cursor))

    @operation
    def get_event_type(self, project_id: str, name: str) -> Call[EventType]:
        return Call("GET", f"{_V1}/{project_id}/event-types/{name}")

    @operation
    def delete_event_type(self, project_id: str, name: str) -> Call[None]:
        return Call("DELETE", f"{_V1}/{project_id}/event-types/{name}")

    # -- custom profiles ---------------------------------------------------------------

    @operation
    def create_profile(
        self,
        project_id: str,
        name: str,
        definition: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Call[CustomProfile]:
        """A custom signing/body profile (docs/profiles.md describes ``definition``)."""
        body = {"name": name, "definition": definition}
        return Call("POST", f"{_V1}/{project_id}/profiles", body, key=idempotency_key)

    @operation
    def list_profiles(
        self, project_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[CustomProfile]]:
        return Call("GET", f"{_V1}/{project_id}/profiles", params=_paging(limit, cursor))

    @operation
    def get_profile(self, project_id: str, name: str) -> Call[CustomProfile]:
        return Call("GET", f"{_V1}/{project_id}/profiles/{name}")

    @operation
    def delete_profile(self, project_id: str, name: str) -> Call[None]:
        return Call("DELETE", f"{_V1}/{project_id}/profiles/{name}")

    # -- jobs --------------------------------------------------------------------------

    @operation
    def recover_project(
        self,
        project_id: str,
        since: str | datetime,
        until: str | datetime | None = None,
        endpoint_id: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Call[Recovery]:
        """Queue a job resending failed deliveries of the project (or one endpoint)."""
        body = clean({"since": moment(since), "until": moment(until), "endpoint_id": endpoint_id})
        return Call("POST", f"{_V1}/{project_id}/recover", body, key=idempotency_key)

    @operation
    def list_jobs(
        self, project_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[Page[Job]]:
        return Call("GET", f"{_V1}/{project_id}/jobs", params=_paging(limit, cursor))

    @operation
    def get_job(self, project_id: str, job_id: str) -> Call[Job]:
        return Call("GET", f"{_V1}/{project_id}/jobs/{job_id}")

    # -- customer portal ---------------------------------------------------------------

    @operation
    def create_portal_link(
        self,
        project_id: str,
        *,
        scope: Literal["view", "manage"] | None = None,
        expires_in: int | None = None,
        idempotency_key: str | None = None,
    ) -> Call[PortalLink]:
        """A signed URL into the customer portal showing only this project;
        ``scope`` ``view`` (default) or ``manage``, ``expires_in`` seconds
        (default 3600, at most 7 days)."""
        body = clean({"scope": scope, "expires_in": expires_in})
        return Call("POST", f"{_V1}/{project_id}/portal-link", body, key=idempotency_key)

    # -- audit log (admin token) -------------------------------------------------------

    @operation
    def list_audit_log(
        self,
        *,
        actor: str | None = None,
        actor_kind: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        project_id: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[Page[AuditEntry]]:
        """Entries matching every filter given, newest first. ``action`` may be
        ``endpoint.*``; ``since`` is inclusive, ``until`` exclusive."""
        where = _audit_filter(
            actor, actor_kind, action, object_type, object_id, project_id, since, until
        )
        return Call("GET", "/api/v1/audit-log", params=_paging(limit, cursor, **where))

    @operation
    def export_audit_log(
        self,
        *,
        actor: str | None = None,
        actor_kind: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        project_id: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
    ) -> Call[list[AuditEntry]]:
        """Every matching entry, oldest first (the server streams JSON lines)."""
        where = _audit_filter(
            actor, actor_kind, action, object_type, object_id, project_id, since, until
        )
        return Call("GET", "/api/v1/audit-log/export", params=where, expect="lines")

    # -- personal tokens (an operator's own, with its personal token) -----------------

    @operation
    def create_token(self, name: str, *, expires_in_days: int | None = None) -> Call[TokenCreated]:
        """A new personal token acting with your role; ``token`` is shown only once.

        No ``idempotency_key``: the server keeps no copy of this answer (it holds the
        token, which hookpost stores only as a hash), so a retry makes another token.
        """
        body = clean({"name": name, "expires_in_days": expires_in_days})
        return Call("POST", "/api/v1/tokens", body)

    @operation
    def list_tokens(self) -> Call[Page[Token]]:
        """Your personal tokens, newest first (revoked ones included)."""
        return Call("GET", "/api/v1/tokens")

    @operation
    def revoke_token(self, token_id: str) -> Call[Token]:
        """Revoke one of your tokens at once (idempotent)."""
        return Call("DELETE", f"/api/v1/tokens/{token_id}")

    # -- system (no token needed) ------------------------------------------------------

    @operation
    def health(self) -> Call[Health]:
        """Liveness: ``{"status": "ok"}`` while the server answers."""
        return Call("GET", "/healthz")

    @operation
    def ready(self) -> Call[Readiness]:
        """Readiness: ``status`` ``ready`` or ``not ready`` with each check; a
        not-ready server answers 503, returned here (not raised, not retried)."""
        return Call("GET", "/readyz", answers=frozenset({503}))

    @operation
    def metrics(self) -> Call[str]:
        """The Prometheus text exposition of ``/metrics``."""
        return Call("GET", "/metrics", expect="text")
