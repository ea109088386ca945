"""The dispatcher: the loop that turns pending deliveries into HTTP requests.

    claim (a batch, leased) -> sign -> send (concurrently) -> record (batched) -> reschedule

Claiming and recording are batched so the database sees a few statements per
hundreds of deliveries; sending is concurrent with a cap, and a slow request
only occupies one slot. A retry is never a sleep: a failed delivery goes back
to the store with its next attempt time and the slot is freed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import Counter, OrderedDict
from typing import Any

from hookpost import tracing
from hookpost.config import Settings
from hookpost.core import secret_headers
from hookpost.core.clock import Clock, SystemClock
from hookpost.core.wiretext import body_text, with_marker
from hookpost.delivery._window import Windows
from hookpost.delivery.sender import About, Sender, SendResult
from hookpost.domain import DEFAULT_MAX_ATTEMPTS, DeliveryStatus, Job, Outcome, retry_delay
from hookpost.domain import parse_retry_after as parse_retry_after
from hookpost.observability import metrics
from hookpost.profiles import EventData, Profile, resolve_profile
from hookpost.store import Presence, RecordIncomplete, Store

log = logging.getLogger("hookpost.dispatcher")

_RECORD_BATCH = 512


class _WokenUp(Exception):
    """Woken while still looking for the next due time."""


def live_secrets(endpoint: dict[str, Any], now: float) -> list[str]:
    """The current secret first, then rotated-out ones still in their grace period."""
    olds = [s["secret"] for s in endpoint.get("old_secrets") or [] if s["expires_at"] > now]
    return [endpoint["secret"], *olds]


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock: Clock = clock or store.clock or SystemClock()
        self.sender = sender or Sender.from_settings(self.settings)
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._inflight = 0
        self._results: asyncio.Queue[Outcome] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._bodies: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        #: Lease token -> deliveries of that claim still in flight (heartbeat, release).
        self._leases: Counter[str] = Counter()
        #: Endpoint id -> this worker's requests to it in flight (isolation cap).
        self._per_endpoint: Counter[str] = Counter()
        #: Endpoints the last claim left work behind for (busy or over their
        #: window): when one of their requests ends, claim again at once.
        self._held_back: set[str] = set()
        #: Ordered (fifo) endpoints with a request in flight: when it ends, the
        #: next event of that endpoint may go, so claim again at once.
        self._ordered: set[str] = set()
        #: Clock time the idle claim loop means to wake at; a retry recorded
        #: as due sooner wakes it (see :meth:`_idle`).
        self._wake_at = -math.inf
        #: The last wake-up came from a result that freed work: claim without
        #: waiting to coalesce publishes (there are none to wait for).
        self._freed = False
        #: The idle loop's look-up of the next due time, if still running.
        self._due_query: asyncio.Task[float | None] | None = None
        #: Endpoint id -> its concurrency cap, as last seen in a claim.
        self._caps: dict[str, int] = {}
        self.policy = self.settings.health_policy
        #: What each endpoint is granted of its cap now (slow start, halving).
        self._windows = Windows(self.settings.endpoint_initial_concurrency)
        #: monotonic time of the last claim-loop turn; /readyz reports a stall.
        self.last_tick = time.monotonic()
        #: This worker's id in its lease tokens, while it holds its lock (see run).
        self.worker: str | None = None

    # -- control -------------------------------------------------------------

    def wake(self) -> None:
        """New work may be due: claim now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._room.set()

    async def run(self) -> None:
        """Run until :meth:`stop`; then finish in-flight requests and record them.

        Shutdown is bounded: requests still running after the grace period are
        cancelled and their deliveries handed back as pending, so another
        worker takes them at once instead of waiting for the lease to expire.
        """
        await self.sender.start()
        presence = self.store.presence(self.settings.database_url)
        self.worker = None if presence is None else await presence.acquire()
        await self._reclaim()
        helpers = [
            asyncio.create_task(self._record_loop(), name="hookpost-recorder"),
            asyncio.create_task(self._heartbeat_loop(presence), name="hookpost-heartbeat"),
        ]
        helpers.append(asyncio.create_task(self._jobs_loop(), name="hookpost-jobs"))
        if self.settings.retention_days > 0:
            helpers.append(asyncio.create_task(self._retention_loop(), name="hookpost-retention"))
        listener = self.store.listener(self.settings.database_url, self.wake)
        if listener is not None:
            helpers.append(asyncio.create_task(self._listen_loop(listener), name="hookpost-listen"))
        try:
            await self._claim_loop()
        finally:
            if self._tasks:
                _done, pending = await asyncio.wait(
                    set(self._tasks), timeout=self.settings.shutdown_grace_seconds
                )
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            await self._results.join()
            leftovers: list[asyncio.Task[Any]] = [*helpers]
            if self._due_query is not None:
                leftovers.append(self._due_query)
            for h in leftovers:
                h.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)
            if self._leases:
                with contextlib.suppress(Exception):
                    await self.store.release_leases(list(self._leases))
            if listener is not None:
                await listener.close()
            if presence is not None:
                await presence.close()
            await self.sender.close()

    async def run_once(self) -> int:
        """Claim one batch, deliver it and record it (for tests and tools)."""
        await self.sender.start()
        claim = await self.store.claim(
            self.settings.claim_batch, self.settings.lease_seconds, policy=self.policy
        )
        jobs = claim.jobs
        outcomes = await asyncio.gather(*(self.attempt(j) for j in jobs))
        await self.store.record(outcomes, self.policy)
        return len(jobs)

    # -- loops ---------------------------------------------------------------

    async def _claim_loop(self) -> None:
        s = self.settings
        while not self._stopping.is_set():
            self.last_tick = time.monotonic()
            metrics.last_claim.set_to_current_time()
            metrics.inflight.set(self._inflight)
            room = s.delivery_concurrency - self._inflight
            if room <= 0:
                self._room.clear()
                # Bounded wait, so the loop keeps ticking (readiness) while full.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), s.poll_interval)
                continue
            self._wake.clear()
            busy = [ep for ep, n in self._per_endpoint.items() if n >= self._allowance(ep)]
            looked_at = self.clock.now()
            try:
                claim = await self.store.claim(
                    min(room, s.claim_batch),
                    s.lease_seconds,
                    inflight=self._per_endpoint,
                    busy=busy,
                    policy=self.policy,
                    allowance=self._windows.allowance,
                    worker=self.worker,
                )
            except Exception as exc:
                if self.store.health.note(exc, "a claim") is None:
                    log.exception("claiming deliveries failed; retrying shortly")
                await self._sleep(s.poll_interval)
                continue
            self._held_back = claim.capped.union(busy)
            jobs = claim.jobs
            if jobs:
                self._leases[jobs[0].lease] += len(jobs)
            for job in jobs:
                self._inflight += 1
                ep = job.endpoint
                self._per_endpoint[ep["id"]] += 1
                self._caps[ep["id"]] = ep["max_concurrency"] or self.policy.endpoint_concurrency
                if ep.get("ordering") == "fifo":
                    self._ordered.add(ep["id"])
                task = asyncio.create_task(self._deliver(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if not jobs or not claim.more:
                # The queue is drained (or everything due is held back by
                # caps): wait for news or the next due delivery, then a moment
                # more so the next claim takes everything that arrived together.
                await self._idle(looked_at)
                if s.coalesce_seconds > 0 and not self._freed:
                    await asyncio.sleep(s.coalesce_seconds)
                self._freed = False
            else:
                # Let the new requests start before claiming more.
                await asyncio.sleep(0)

    async def _heartbeat_loop(self, presence: Presence | None) -> None:
        """Keep this worker's leases, and take over those of workers found dead."""
        interval = max(self.settings.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.extend_leases(list(self._leases), self.settings.lease_seconds)
            except Exception as exc:
                if self.store.health.note(exc, "a lease heartbeat") is None:
                    log.warning("lease heartbeat failed", exc_info=True)
            if presence is not None:
                try:
                    await presence.ensure()
                except Exception as exc:  # never let it stop the heartbeat
                    if self.store.health.note(exc, "retaking the worker lock") is None:
                        log.warning("retaking the worker lock failed", exc_info=True)
            await self._reclaim()

    async def _reclaim(self) -> None:
        """Deliveries leased by a worker whose process is gone are due now, not at
        lease expiry: a restarted ``hookpost serve`` resends them at once."""
        try:
            n = await self.store.reclaim_dead_leases()
        except Exception as exc:
            if self.store.health.note(exc, "reclaiming dead workers' leases") is None:
                log.warning("reclaiming the leases of dead workers failed", exc_info=True)
            return
        if n:
            log.info("reclaimed %d deliveries leased by workers that are gone", n)
            self._wake.set()

    async def _jobs_loop(self) -> None:
        """Run queued bulk jobs (recover) in bounded batches, one at a time."""
        while True:
            try:
                job = await self.store.claim_job(self.settings.lease_seconds)
                while job is not None and job["status"] == "running":
                    job = await self.store.run_job_batch(job, self.settings.lease_seconds)
                    self._wake.set()  # the recovered deliveries are due now
                    await asyncio.sleep(0)
                if job is not None:
                    continue  # there may be more queued
            except Exception as exc:
                if self.store.health.note(exc, "a bulk job step") is None:
                    log.warning("bulk job step failed; it will be resumed", exc_info=True)
            await asyncio.sleep(self.settings.poll_interval)

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.purge_interval_seconds)
            try:
                removed = await self.store.purge(self.settings.retention_days * 86400)
                if any(removed.values()):
                    log.info("retention purge removed %s", removed)
            except Exception as exc:
                if self.store.health.note(exc, "the retention purge") is None:
                    log.warning("retention purge failed", exc_info=True)

    async def _listen_loop(self, listener: Any) -> None:
        while True:
            if await listener.ensure():
                self._wake.set()  # anything published while we were deaf
            await asyncio.sleep(5)

    async def _idle(self, looked_at: float) -> None:
        """Sleep until the next delivery is due, news arrives, or a poll interval passes.

        A fixed poll made a retry due in 0.3 s go out at the next tick, up to a
        second late, and a fifo endpoint drain one event per tick. So the loop
        sleeps until the earliest delivery scheduled after ``looked_at`` (when
        the last claim looked; what was due before then and left behind is held
        back by a cap, a fifo head or an open circuit, and waiting for it would
        spin). What frees such deliveries wakes the loop instead: a result on a
        held-back or fifo endpoint, a retry recorded as due sooner than this
        sleep ends (:meth:`_record_loop`), a publish (NOTIFY or the in-process
        wake). The poll interval stays as the longest sleep, a safety net.
        """
        poll = self.settings.poll_interval
        # Set before looking: a retry recorded while the query runs compares
        # against this bound, one recorded before it is seen by the query.
        self._wake_at = self.clock.now() + poll
        try:
            due = await self._next_due(looked_at, poll)
        except _WokenUp:
            self._wake_at = -math.inf
            return
        wait = poll if due is None else min(poll, max(0.0, due - self.clock.now()))
        if due is not None:
            self._wake_at = min(self.clock.now() + poll, due)
        await self._sleep(wait)
        self._wake_at = -math.inf

    async def _next_due(self, looked_at: float, poll: float) -> float | None:
        """The next due time after ``looked_at``; raises :class:`_WokenUp` if woken first.

        Under load the query can take longer than a result takes to arrive
        (a fifo endpoint waits on every one): the loop then claims at once and
        the query runs on, to be read by the next idle turn. That answer may
        be stale (an older ``looked_at``): at worst the loop claims once more.
        """
        query = self._due_query
        if query is None or query.done():
            query = asyncio.create_task(self.store.next_due_at(after=looked_at))
            self._due_query = query
        woken: asyncio.Task[Any] = asyncio.create_task(self._wake.wait())
        either: set[asyncio.Task[Any]] = {query, woken}
        try:
            await asyncio.wait(either, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if not query.done():
            raise _WokenUp
        self._due_query = None
        try:
            return query.result()
        except Exception as exc:
            if self.store.health.note(exc, "reading the next due time") is None:
                log.warning("reading the next due time failed; polling", exc_info=True)
            return None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _deliver(self, job: Job) -> None:
        try:
            outcome = await self.attempt(job)
        except Exception:
            # A bug, not a delivery failure: leave the lease to expire so the
            # delivery is retried rather than lost.
            log.exception("delivery %s crashed", job.delivery_id)
            self._release([job.lease], [job.endpoint["id"]])
            return
        ep_id = outcome.endpoint_id
        self._windows.observe(ep_id, outcome.success, self._caps.get(ep_id, 1))
        await self._results.put(outcome)

    def _allowance(self, endpoint_id: str) -> int:
        cap = self._caps.get(endpoint_id, self.policy.endpoint_concurrency)
        return self._windows.allowance(endpoint_id, cap)

    def _release(self, leases: list[str], endpoint_ids: list[str]) -> None:
        self._inflight -= len(leases)
        self._leases.subtract(leases)
        self._leases += Counter()  # drop the leases that reached zero
        self._per_endpoint.subtract(endpoint_ids)
        self._per_endpoint += Counter()
        self._ordered.intersection_update(self._per_endpoint)
        self._room.set()

    async def _record_loop(self) -> None:
        while True:
            first = await self._results.get()
            coalesce = self.settings.coalesce_seconds
            if self._results.qsize() < _RECORD_BATCH and coalesce > 0 and not self._gates(first):
                await asyncio.sleep(coalesce)  # one write for many
            batch = [first]
            while len(batch) < _RECORD_BATCH and not self._results.empty():
                batch.append(self._results.get_nowait())
            self._log_outcomes(batch)
            try:
                await self._record_with_retry(batch)
            finally:
                for _ in batch:
                    self._results.task_done()
                if self._frees_work(batch):
                    self._freed = True
                    self._wake.set()
                self._release([o.lease for o in batch], [o.endpoint_id for o in batch])

    def _frees_work(self, batch: list[Outcome]) -> bool:
        """Does this batch of results make a delivery claimable before the loop would look?

        Yes for a result on an endpoint the last claim held back (a cap, a
        window) or on a fifo endpoint (its next event may go), and for a retry
        due before the idle loop means to wake.
        """
        for o in batch:
            if o.endpoint_id in self._held_back or o.endpoint_id in self._ordered:
                return True
            if o.next_attempt_at is not None and o.next_attempt_at < self._wake_at:
                return True
        return False

    def _gates(self, outcome: Outcome) -> bool:
        """Is this the one request in flight to an endpoint whose other deliveries wait on it?

        Then nothing of that endpoint would join a coalesced write, and every
        millisecond waited delays its whole queue (a fifo endpoint sends one
        event per claim-send-record round).
        """
        ep = outcome.endpoint_id
        waiting = ep in self._ordered or ep in self._held_back
        return waiting and self._per_endpoint[ep] <= 1

    @staticmethod
    def _log_outcomes(batch: list[Outcome]) -> None:
        """One line per attempt at debug, per failure at info; ids only, no bodies."""
        debug = log.isEnabledFor(logging.DEBUG)
        for o in batch:
            if o.success and not debug:
                continue
            fields = {
                "delivery_id": o.delivery_id,
                "event_id": o.event_id,
                "endpoint_id": o.endpoint_id,
                "attempt": o.number,
                "status_code": o.status_code,
                "duration_ms": round(o.duration_ms, 1),
                "delivery_status": o.status,
            }
            if o.success:
                log.debug("delivered", extra=fields)
            else:
                log.info("attempt failed: %s", o.error, extra=fields)

    async def _record_with_retry(self, batch: list[Outcome]) -> None:
        """Record, retrying only what the store could not write (the database was away).

        A row the database refuses does not come back here: the store records
        it without its request and response (``Store.record``).
        """
        for delay in (0.1, 0.5, 2.0, 5.0, None):
            try:
                await self.store.record(batch, self.policy)
                metrics.record_outcomes(batch)
                return
            except Exception as exc:
                cause: BaseException = exc
                if isinstance(exc, RecordIncomplete):
                    written = len(batch) - len(exc.remaining)
                    metrics.record_outcomes(batch[:written])
                    batch, cause = exc.remaining, exc.__cause__ or exc
                # A database outage is logged once per interval by the store's health.
                outage = self.store.health.note(cause, "recording attempts")
                if delay is None or self._stopping.is_set():
                    # The leases will expire and the deliveries will be retried.
                    if outage is None:
                        log.exception("recording %d attempts failed; retried later", len(batch))
                    return
                if outage is None:
                    log.warning("recording attempts failed; retrying in %.1fs", delay)
                await asyncio.sleep(delay)

    # -- one attempt -----------------------------------------------------------

    def _body(self, job: Job, profile: Profile) -> bytes:
        """Serialize an event once per profile and reuse the bytes on every try."""
        ev = job.event
        # An event belongs to one project, and profile names are unique in it.
        key = (int(ev["seq"]), str(job.endpoint["profile"]))
        body = self._bodies.get(key)
        if body is None:
            data = EventData(
                id=ev["id"],
                type=ev["event_type"],
                created_at=float(ev["created_at"]),
                payload=json.loads(ev["payload"]),
                project_id=ev["project_id"],
                sequence=int(ev["seq"]),
            )
            body = profile.body(data)
            self._bodies[key] = body
            if len(self._bodies) > 4096:
                self._bodies.popitem(last=False)
        else:
            self._bodies.move_to_end(key)
        return body

    async def attempt(self, job: Job) -> Outcome:
        parent = job.event.get("trace_context")
        if not parent:
            return await self._attempt(job, None)
        ids = {
            "hookpost.delivery_id": job.delivery_id,
            "hookpost.event_id": job.event["id"],
            "hookpost.endpoint_id": job.endpoint["id"],
        }
        with tracing.span("hookpost.delivery", ids, parent=parent):
            attempt_attrs = {**ids, "hookpost.attempt": job.attempt_count + 1}
            with tracing.span("hookpost.attempt", attempt_attrs) as span:
                outcome = await self._attempt(job, tracing.current_traceparent())
                if span is not None:
                    span.set_attribute("http.response.status_code", outcome.status_code or 0)
                    span.set_attribute("hookpost.delivery_status", outcome.status)
                    if outcome.error:
                        span.set_attribute("error.type", outcome.error)
                return outcome

    def _request(
        self, job: Job, traceparent: str | None, now: float
    ) -> tuple[Profile, bytes, dict[str, str]]:
        """The profile, body and headers of this attempt (rendered and signed)."""
        ep = job.endpoint
        profile = resolve_profile(ep["profile"], ep.get("profile_definition"))
        body = self._body(job, profile)
        signed = profile.sign(
            msg_id=job.event["id"], timestamp=now, body=body, secrets=live_secrets(ep, now)
        )
        # A custom header never travels beside the signature under another case.
        owned = {k.lower() for k in signed} | {"content-type"}
        headers = {"Content-Type": "application/json"}
        headers.update(
            (k, v) for k, v in (ep.get("headers") or {}).items() if k.lower() not in owned
        )
        headers.update(signed)
        if traceparent:
            headers["traceparent"] = traceparent
        return profile, body, headers

    async def _attempt(self, job: Job, traceparent: str | None) -> Outcome:
        ep = job.endpoint
        now = self.clock.now()
        profile: Profile | None
        try:
            profile, body, headers = self._request(job, traceparent, now)
        except Exception as exc:
            # A request that cannot be built (a profile, template or encoder
            # failing on this event) is a failed attempt with the reason, on the
            # endpoint's schedule like any other failure -- never a crash that
            # leaves the delivery leased and retried by every worker forever.
            reason = f"the request could not be built: {type(exc).__name__}: {exc}"[:500]
            log.warning("delivery %s: %s", job.delivery_id, reason)
            profile, body, headers = None, b"", {}
            result = SendResult(None, None, None, 0.0, reason)
        else:
            timeout = float(ep.get("timeout_seconds") or self.settings.default_timeout_seconds)
            # ``wire_url``: a broker URL's real form, its password unmasked (store._sealing).
            about = About(job.event["id"], job.event["event_type"], ep["id"])
            url = ep.get("wire_url") or ep["url"]
            result = await self.sender.post(url, body, headers, timeout, about=about)
        number = job.attempt_count + 1
        limit = (
            job.attempt_limit
            or ep.get("max_attempts")
            or (profile.max_attempts if profile is not None else None)
            or DEFAULT_MAX_ATTEMPTS
        )
        code = result.status_code
        rule = ep.get("success_rule")
        if code is None or profile is None:
            ok = result.accepted and profile is not None  # a broker's confirm has no status
        elif rule == "200":
            ok = code == 200
        elif rule == "2xx":
            ok = 200 <= code < 300
        else:
            ok = profile.is_success(code)
        resp_headers = {k.lower(): v for k, v in (result.response_headers or {}).items()}
        aborted = not ok and resp_headers.get("webhook-delivery", "").strip().lower() == "abort"
        gone = code == 410
        error = result.error
        if error is None and not ok:
            error = f"unsuccessful status {code}"
        if aborted:
            error = f"{error}; receiver asked to stop retrying (webhook-delivery: abort)"
        if ok:
            status, next_at = DeliveryStatus.SUCCEEDED, None
        elif aborted or number >= limit:
            status, next_at = DeliveryStatus.FAILED, None
        elif gone:
            # The endpoint is disabled below; the delivery waits with the others.
            status, next_at = DeliveryStatus.HELD, None
        else:
            status = DeliveryStatus.PENDING
            done = self.clock.now()
            schedule = ep.get("retry_schedule")
            next_at = done + retry_delay(number, schedule, code, resp_headers, now=done)
        request_body, escaped = body_text(body, complete=True)
        return Outcome(
            delivery_id=job.delivery_id,
            lease=job.lease,
            number=number,
            started_at=now,
            url=result.url or ep["url"],
            # What went on the wire (what was meant to, if nothing was written),
            # but never a secret header's value.
            request_headers=secret_headers.mask(
                result.request_headers or headers, ep.get("secret_headers") or ()
            ),
            request_body=with_marker(request_body, {"request body": escaped}),
            status_code=code,
            response_headers=result.response_headers,
            response_body=result.response_body,
            duration_ms=result.duration_ms,
            error=error,
            status=status,
            next_attempt_at=next_at,
            endpoint_id=ep["id"],
            project_id=ep["project_id"],
            event_id=job.event["id"],
            success=ok,
            endpoint_was_failing=bool(ep.get("consecutive_failures"))
            or ep.get("circuit_open_until") is not None,
            disable_reason="receiver answered 410 Gone" if gone else None,
            profile=str(ep["profile"]),
        )
