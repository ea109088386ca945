"""One operation, written once for both clients: a method that builds a :class:`Call`.

An operation of :class:`~hookpost.client._api.Operations` only says what to
send (method, path, JSON body, query) and what comes back (the model ``T``);
:class:`operation` turns it into a method that, on a :class:`Client`, sends
the call and returns ``T``, and on an :class:`AsyncClient` returns an
awaitable of ``T``. The overloads of ``__get__`` give type checkers exactly
that, with the builder's own parameters (``ParamSpec``), so the 40 methods
are neither written twice nor untyped.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, ParamSpec, TypeVar, overload

if TYPE_CHECKING:
    from hookpost.client._clients import AsyncClient, Client

__all__ = ["Call", "clean", "moment", "operation"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request to make and how to read its answer.

    ``expect`` ``text`` reads the body as text (``/metrics``), ``lines`` as
    one JSON value a line (a list; ``/audit-log/export``); ``answers`` are
    non-2xx statuses that are an answer rather than an error (``/readyz``'s 503).
    ``key`` is the caller's own ``Idempotency-Key`` for a POST (default: a new
    UUID per call), e.g. an order id, so that a retry from another process,
    after a restart, is recognised too.
    """

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    expect: Literal["json", "text", "lines"] = "json"
    answers: frozenset[int] = field(default_factory=frozenset)
    key: str | None = None  # the Idempotency-Key of a POST; None: a fresh UUID


class operation(Generic[P, T]):
    """Decorator: the builder method becomes the client's method of the same name."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> operation[P, T]: ...

    @overload
    def __get__(self, obj: Client, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, obj: AsyncClient, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build = self.build

        @functools.wraps(build)
        def method(*args: Any, **kwargs: Any) -> Any:
            return obj._send(build(obj, *args, **kwargs))

        method.__signature__ = self.signature  # type: ignore[attr-defined]
        return method

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """The builder's signature without ``self``, answering the model rather
        than the ``Call``: what ``help()`` and ``inspect`` show."""
        sig = inspect.signature(self.build)
        answer = str(sig.return_annotation).removeprefix("Call[").removesuffix("]")
        return sig.replace(parameters=list(sig.parameters.values())[1:], return_annotation=answer)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is None (left to the server's default)."""
    return {k: v for k, v in values.items() if v is not None}


def moment(value: str | datetime | None) -> str | None:
    """A time for the API: ISO 8601 (a naive datetime is taken as UTC by the server)."""
    return value.isoformat() if isinstance(value, datetime) else value
