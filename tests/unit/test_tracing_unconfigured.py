"""Without a tracer provider, a span with no parent is None at once (issue 15: the
API's no-op span cost the publish path ~4% of its CPU); with a parent it is still
made, since the no-op span carries the parent's ids."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("opentelemetry", reason="the otel extra is not installed")

from opentelemetry import trace

from hookpost import tracing

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No provider, whatever another test set for the process: spans are the API's no-op ones."""
    made: list[str] = []
    proxy, noop = trace.ProxyTracerProvider(), trace.NoOpTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: proxy)

    def get_tracer(name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(name)
        return noop.get_tracer(name)

    monkeypatch.setattr(trace, "get_tracer", get_tracer)
    return made


def test_a_span_without_parent_is_none_and_makes_no_tracer(unconfigured: list[str]) -> None:
    with tracing.span("hookpost.publish", {"a": 1}) as span:
        assert span is None
    assert unconfigured == []


def test_a_span_with_a_parent_still_carries_the_parents_ids(unconfigured: list[str]) -> None:
    with tracing.span("hookpost.delivery", {}, parent=PARENT):
        assert tracing.current_ids() == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert unconfigured == ["hookpost"]
