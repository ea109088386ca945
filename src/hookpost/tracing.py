"""OpenTelemetry spans, when ``opentelemetry-api`` is installed (``pip install hookpost[otel]``).

hookpost follows the library convention: it creates spans through the API and
leaves exporters to the application (``opentelemetry-instrument hookpost
serve``, or a TracerProvider set up by whoever embeds hookpost). Without the
package, or without a configured provider, every call here is a cheap no-op.

The chain is ``hookpost.publish`` (in the API process) → ``hookpost.delivery``
→ ``hookpost.attempt`` (in whichever worker sends it, possibly hours later on
another machine): the publish span's W3C ``traceparent`` is stored with the
event, and each attempt continues that trace and passes it on to the receiver
in a ``traceparent`` header.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    from opentelemetry import propagate, trace
except ImportError:  # pragma: no cover - the extra is not installed
    propagate = None  # type: ignore[assignment]
    trace = None  # type: ignore[assignment]


def _tracer() -> Any:
    return None if trace is None else trace.get_tracer("hookpost")


def _unconfigured() -> bool:
    """No tracer provider is set: every span would be a non-recording one."""
    return trace is None or isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextlib.contextmanager
def span(name: str, attributes: dict[str, Any], parent: str | None = None) -> Iterator[Any]:
    """A span (or None), child of the ``traceparent`` string ``parent`` if given.

    None, at once, when there is nothing to record and no parent: the API's
    no-op span would only stand in for the current one, and making it (a
    tracer, a span, the context attached and detached) was ~4% of the
    publish path's CPU (issue 15). With a parent the no-op span carries the
    parent's ids (:func:`current_ids`), so it is still made.
    """
    if parent is None and _unconfigured():
        yield None
        return
    tracer = _tracer()
    if tracer is None:
        yield None
        return
    context = propagate.extract({"traceparent": parent}) if parent else None
    clean = {k: v for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, context=context, attributes=clean) as current:
        yield current


def current_traceparent() -> str | None:
    """The active span's ``traceparent``, if a real (recording) span is active."""
    if trace is None or not trace.get_current_span().is_recording():
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def current_ids() -> tuple[str, str] | None:
    """The active span's (trace_id, span_id) in W3C hex, when a real span is active."""
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
