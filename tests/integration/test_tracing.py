"""OpenTelemetry: publish -> delivery -> attempt spans in one trace, passed on to the receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import Hookpost, Receiver

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider() -> Iterator[None]:
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(tp)  # once per process: the API allows only one
    yield


async def test_publish_delivery_attempt_spans(hookpost: Hookpost, receiver: Receiver) -> None:
    _EXPORTER.clear()
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url())
    ev = await hookpost.publish(pid, event_id="traced")
    (req,) = await receiver.wait_for(1)
    (d,) = await hookpost.deliveries(pid)
    await hookpost.wait_status(pid, d["id"], "succeeded")
    spans = {s.name: s for s in _EXPORTER.get_finished_spans() if s.name.startswith("hookpost.")}
    publish, delivery, attempt = (
        spans["hookpost.publish"],
        spans["hookpost.delivery"],
        spans["hookpost.attempt"],
    )
    trace_id = publish.context.trace_id
    assert delivery.context.trace_id == trace_id == attempt.context.trace_id
    assert delivery.parent is not None and delivery.parent.span_id == publish.context.span_id
    assert attempt.parent is not None and attempt.parent.span_id == delivery.context.span_id
    assert publish.attributes["hookpost.event_id"] == ev["id"] == "traced"
    assert attempt.attributes["hookpost.delivery_id"] == d["id"]
    assert attempt.attributes["http.response.status_code"] == 200
    # the receiver can continue the trace
    assert req.headers["traceparent"].split("-")[1] == f"{trace_id:032x}"


def test_log_lines_carry_the_active_span(monkeypatch: pytest.MonkeyPatch) -> None:
    """With tracing on, a line logged inside a span -- hookpost's or uvicorn's, both
    through the one handler -- names the span's trace_id and span_id; outside, none."""
    import io
    import json
    import logging
    import sys

    from hookpost.logs import setup_logging
    from hookpost.tracing import span

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    try:
        setup_logging("info", json_lines=True)
        logging.getLogger("hookpost").info("before")
        with span("hookpost.delivery", {"delivery_id": "dlv_1"}) as current:
            logging.getLogger("hookpost").warning("inside")
            logging.getLogger("uvicorn.error").warning("uvicorn inside")
            context = current.get_span_context()
        logging.getLogger("hookpost").info("after")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = {rec["msg"]: rec for rec in map(json.loads, out.getvalue().splitlines())}
    want = (format(context.trace_id, "032x"), format(context.span_id, "016x"))
    for msg in ("inside", "uvicorn inside"):
        assert (lines[msg]["trace_id"], lines[msg]["span_id"]) == want, lines[msg]
    for msg in ("before", "after"):
        assert "trace_id" not in lines[msg] and "span_id" not in lines[msg]
