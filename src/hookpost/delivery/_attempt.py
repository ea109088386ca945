"""One attempt of one delivery, as a pipeline: prepare -> send -> classify -> decide.

- **prepare** (:meth:`Attempts.prepare`): the endpoint's profile renders the
  event (once per event and profile, then cached) and signs it with every live
  secret; custom headers join, never beside the signature under another case.
  A request that cannot be built is a :class:`Prepared` carrying the reason,
  not an exception: it fails like any other attempt, on the endpoint's
  schedule, instead of leaving the delivery leased and retried by every
  worker forever.
- **send** (:meth:`Attempts.send`): one ``Sender.post`` through the shared
  :class:`~hookpost.delivery.sender.Sender` (an HTTP POST, or a publish to a
  broker for a broker URL), to a :class:`SendResult`.
- **classify** and **decide**: :func:`hookpost.domain.classify` and
  :func:`hookpost.domain.decide`, pure functions of the answer, the attempt's
  number and limit, and the endpoint's schedule.

The :class:`~hookpost.domain.Outcome` that comes out is what the recorder
stores; nothing here touches the database.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from hookpost import tracing
from hookpost.core import jsonenc, secret_headers
from hookpost.core.clock import Clock
from hookpost.core.wiretext import body_text, with_marker
from hookpost.delivery.sender import About, Sender, SendResult
from hookpost.domain import (
    Answer,
    ClaimedDelivery,
    Decision,
    Outcome,
    Verdict,
    attempt_limit,
    classify,
    decide,
)
from hookpost.profiles import EventData, Profile, resolve_profile

log = logging.getLogger("hookpost.dispatcher")

#: Rendered bodies kept (event, profile): a retry resends the same bytes without re-rendering.
_BODY_CACHE = 4096
#: ...and at most this many bytes of them (bytes and record text together): with large
#: payloads the count alone would let the cache grow to gigabytes.
_BODY_CACHE_BYTES = 16 * 2**20


@dataclass(slots=True)
class _Body:
    """A rendered body, and its text as an attempt record stores it (made once per body,
    not once per attempt: every endpoint of the profile sends the same bytes)."""

    raw: bytes
    #: ``raw`` as storable text, escapes said so (:mod:`hookpost.core.wiretext`).
    text: str

    @property
    def size(self) -> int:
        """What the cache counts against :data:`_BODY_CACHE_BYTES` (the text as bytes:
        a rough measure, exact for ASCII)."""
        return len(self.raw) + len(self.text)

    @classmethod
    def of(cls, raw: bytes) -> _Body:
        text, escaped = body_text(raw, complete=True)
        return cls(raw, with_marker(text, {"request body": escaped}))


@dataclass(slots=True)
class Prepared:
    """The request of one attempt, rendered and signed -- or why it could not be."""

    started_at: float
    profile: Profile | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: ``body`` as the attempt record stores it.
    body_text: str = ""
    #: Set when the request could not be built (then ``profile`` is None).
    failure: str | None = None


class Attempts:
    """Turns a :class:`~hookpost.domain.ClaimedDelivery` into an :class:`Outcome`."""

    def __init__(self, sender: Sender, clock: Clock, default_timeout: float) -> None:
        self.sender = sender
        self.clock = clock
        self.default_timeout = default_timeout
        self._bodies: OrderedDict[tuple[int, str, str | None], _Body] = OrderedDict()
        self._body_bytes = 0

    async def attempt(self, job: ClaimedDelivery) -> Outcome:
        """One attempt, inside the event's trace when it was published with one."""
        parent = job.event.trace_context
        if not parent:
            return await self.run(job, None)
        ids = {
            "hookpost.delivery_id": job.delivery_id,
            "hookpost.event_id": job.event.id,
            "hookpost.endpoint_id": job.endpoint.id,
        }
        with tracing.span("hookpost.delivery", ids, parent=parent):
            attempt_attrs = {**ids, "hookpost.attempt": job.attempt_count + 1}
            with tracing.span("hookpost.attempt", attempt_attrs) as span:
                outcome = await self.run(job, tracing.current_traceparent())
                if span is not None:
                    span.set_attribute("http.response.status_code", outcome.status_code or 0)
                    span.set_attribute("hookpost.delivery_status", outcome.status)
                    if outcome.error:
                        span.set_attribute("error.type", outcome.error)
                return outcome

    async def run(self, job: ClaimedDelivery, traceparent: str | None) -> Outcome:
        """prepare -> send -> classify -> decide, and the outcome to record."""
        ep = job.endpoint
        prepared = self.prepare(job, traceparent)
        result = await self.send(job, prepared)
        answer = Answer(
            result.status_code, result.response_headers or {}, result.error, result.accepted
        )
        profile = prepared.profile
        verdict = classify(
            answer,
            success_rule=ep.success_rule,
            profile_accepts=None if profile is None else profile.is_success,
        )
        number = job.attempt_count + 1
        limit = attempt_limit(
            job.attempt_limit,
            ep.max_attempts,
            None if profile is None else profile.max_attempts,
        )
        decision = decide(
            verdict,
            answer,
            number=number,
            limit=limit,
            schedule=ep.retry_schedule,
            now=self.clock.now(),
        )
        return self._outcome(job, prepared, result, verdict, decision)

    # -- the stages ------------------------------------------------------------

    def prepare(self, job: ClaimedDelivery, traceparent: str | None) -> Prepared:
        """The profile, body and headers of this attempt, rendered and signed."""
        ep = job.endpoint
        now = self.clock.now()
        try:
            profile = resolve_profile(ep.profile, ep.profile_definition, ep.serializer)
            body = self._body(job, profile)
            signed = profile.sign(
                msg_id=job.event.id, timestamp=now, body=body.raw, secrets=ep.live_secrets(now)
            )
        except Exception as exc:
            # A profile, template or encoder failing on this event.
            reason = f"the request could not be built: {type(exc).__name__}: {exc}"[:500]
            log.warning("delivery %s: %s", job.delivery_id, reason)
            return Prepared(started_at=now, profile=None, failure=reason)
        if ep.headers:
            # A custom header never travels beside the signature under another case.
            owned = {k.lower() for k in signed} | {"content-type"}
            headers = {"Content-Type": "application/json"}
            headers.update((k, v) for k, v in ep.headers.items() if k.lower() not in owned)
            headers.update(signed)
        else:
            headers = {"Content-Type": "application/json", **signed}
        if traceparent:
            headers["traceparent"] = traceparent
        return Prepared(
            started_at=now, profile=profile, body=body.raw, headers=headers, body_text=body.text
        )

    async def send(self, job: ClaimedDelivery, prepared: Prepared) -> SendResult:
        """POST the prepared request, or publish it to a broker (the sender picks by the
        URL's scheme); a request that could not be built is not sent."""
        if prepared.failure is not None:
            return SendResult(None, None, None, 0.0, prepared.failure)
        ep = job.endpoint
        timeout = ep.timeout_seconds or self.default_timeout
        about = About(job.event.id, job.event.event_type, ep.id)
        # ``wire_url``: a broker URL's real form, its password unmasked (store._sealing).
        return await self.sender.post(
            ep.wire_url, prepared.body, prepared.headers, timeout, about=about
        )

    def _body(self, job: ClaimedDelivery, profile: Profile) -> _Body:
        """Serialize an event once per profile and reuse the bytes on every try."""
        ev = job.event
        # An event belongs to one project, and profile names are unique in it;
        # a re-serializing profile writes one body per receiver serializer.
        key = (ev.seq, job.endpoint.profile, job.endpoint.serializer)
        body = self._bodies.get(key)
        if body is None:
            data = EventData(
                id=ev.id,
                type=ev.event_type,
                created_at=ev.created_at,
                payload=jsonenc.loads_stored(ev.payload),
                project_id=ev.project_id,
                sequence=ev.seq,
            )
            body = _Body.of(profile.body(data))
            self._bodies[key] = body
            self._body_bytes += body.size
            while len(self._bodies) > _BODY_CACHE or self._body_bytes > _BODY_CACHE_BYTES:
                self._body_bytes -= self._bodies.popitem(last=False)[1].size
        else:
            self._bodies.move_to_end(key)
        return body

    @staticmethod
    def _outcome(
        job: ClaimedDelivery,
        prepared: Prepared,
        result: SendResult,
        verdict: Verdict,
        decision: Decision,
    ) -> Outcome:
        ep = job.endpoint
        return Outcome(
            delivery_id=job.delivery_id,
            lease=job.lease,
            number=job.attempt_count + 1,
            started_at=prepared.started_at,
            url=result.url or ep.url,
            # What went on the wire (what was meant to, if nothing was written),
            # but never a secret header's value.
            request_headers=secret_headers.mask(
                result.request_headers or prepared.headers, ep.secret_headers
            ),
            request_body=prepared.body_text,
            status_code=result.status_code,
            response_headers=result.response_headers,
            response_body=result.response_body,
            duration_ms=result.duration_ms,
            error=verdict.error,
            status=decision.status,
            next_attempt_at=decision.next_attempt_at,
            endpoint_id=ep.id,
            project_id=ep.project_id,
            event_id=job.event.id,
            success=verdict.success,
            endpoint_was_failing=ep.failing,
            disable_reason=verdict.disable_reason,
            profile=ep.profile,
        )


__all__ = ["Attempts", "Prepared"]
