"""Catalog JSON Schemas from tenants, applied so that no schema or payload stalls others.

A project's catalog may attach a JSON Schema to an event type, and every
publish of that type is checked against it -- in the process that also serves
every other project's API calls, dashboard pages and deliveries. Two things in
a schema can make that check arbitrarily slow:

- **Regular expressions** (``pattern``, ``patternProperties``). The
  ``jsonschema`` library matches them with Python's ``re``, which backtracks:
  ``^(a+)+$`` against thirty ``a`` and a ``!`` takes seconds, each extra
  character doubles it. Here they are compiled and matched with RE2 (the
  ``google-re2`` bindings), whose matching time is linear in the input. What
  RE2 cannot run in linear time -- backreferences, lookahead and lookbehind --
  is refused when the schema is saved, with a 422 naming the construct. The
  validator class is ``jsonschema``'s own for the schema's draft, with the
  keywords that match regular expressions (``pattern``, ``patternProperties``,
  ``additionalProperties``) replaced by RE2 versions. One keyword cannot be
  replaced without copying the library's internals: ``unevaluatedProperties``
  matches ``patternProperties`` with ``re`` itself, so a schema using both is
  refused.
- **Combinators and recursion** (``anyOf`` under a recursive ``$ref``,
  ``uniqueItems`` over large arrays): the work can grow exponentially with the
  payload. Validation therefore runs in a small pool of processes (a thread
  would hold the GIL against the event loop), one check at a time per
  project, and every keyword checks a deadline: past
  :data:`MAX_SECONDS` the publish is refused with a 422. ``uniqueItems`` and
  ``multipleOf`` are replaced too (linear-time uniqueness; exact arithmetic
  where floats overflow), so no single keyword runs long between two checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import os
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextvars import ContextVar
from fractions import Fraction
from functools import lru_cache
from itertools import islice
from typing import Any

import re2
from jsonschema import FormatChecker, validators
from jsonschema import exceptions as js_exceptions

log = logging.getLogger("hookpost.schema")

#: How long one payload may take to check against its schema.
MAX_SECONDS = 1.0
#: Longest regular expression a schema may hold (characters).
MAX_PATTERN_LENGTH = 1000
#: Problems reported for one payload (the first ones by path).
MAX_PROBLEMS = 10

Problems = list[tuple[str, str]]
Keyword = Callable[[Any, Any, Any, Any], Any]

#: Keywords whose values are data, not schemas: nothing in them is a regex.
_DATA = frozenset({"const", "enum", "default", "examples"})
#: Keywords whose values map names to schemas.
_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)

_deadline: ContextVar[float] = ContextVar("hookpost_schema_deadline", default=math.inf)
_pool: ProcessPoolExecutor | None = None
_gates: weakref.WeakValueDictionary[str, asyncio.Semaphore] = weakref.WeakValueDictionary()


class UnsafePattern(ValueError):
    """A regular expression RE2 cannot run (or too long); the message names why."""


class _TooSlow(Exception):
    pass


# -- regular expressions ---------------------------------------------------------


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the reason is raised, not written to stderr
    return options


_RE2_OPTIONS = _options()


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The RE2 form of ``pattern``, or :class:`UnsafePattern` saying what it cannot run."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UnsafePattern(f"is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UnsafePattern(
            f"cannot be used: {reason} (patterns run on a linear-time engine, RE2: "
            "backreferences, lookahead and lookbehind are not supported)"
        ) from None


def _is_regex(instance: object) -> bool:
    """``format: regex`` in the metaschema, as RE2 reads it."""
    if isinstance(instance, str):
        compile_pattern(instance)
    return True


# -- checking a schema when it is saved ------------------------------------------


async def check_schema(project_id: str, schema: dict[str, Any]) -> Problems:
    """``[]`` for a schema that can be saved, else ``(field, problem)`` pairs.

    Off the event loop and bounded in time, like a payload check: a schema is
    itself validated against its draft's metaschema.
    """
    kind, value = await _off_loop(project_id, schema_problems, schema)
    if kind == "ok":
        problems: Problems = value
        return problems
    if kind == "slow":
        return [("schema", f"took longer than {MAX_SECONDS:g} s to check; simplify it")]
    if kind == "deep":
        return [("schema", "nests too deeply to check")]
    return [("schema", f"cannot be checked ({value})")]


def schema_problems(schema: dict[str, Any], field: str = "schema") -> Problems:
    """The checks of :func:`check_schema`, done where it is called (a pool process)."""
    found: _Found = _Found()
    _walk(schema, field, found)
    problems = found.problems
    if found.unevaluated and found.pattern_properties:
        problems.append(
            (
                found.unevaluated[0],
                "cannot be used in a schema that has patternProperties (its matching is not "
                "bounded in time); list the properties or use additionalProperties",
            )
        )
    if problems:
        return problems
    cls = validators.validator_for(schema)
    checker = FormatChecker(formats=())
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)
    checker.checks("regex", raises=UnsafePattern)(_is_regex)
    meta = _bounded_class(cls)(cls.META_SCHEMA, format_checker=checker)
    error = js_exceptions.best_match(meta.iter_errors(schema))
    if error is None:
        return []
    where = ".".join(str(p) for p in error.path)
    return [(field + (f".{where}" if where else ""), f"not a valid JSON Schema: {error.message}")]


class _Found:
    def __init__(self) -> None:
        self.problems: Problems = []
        self.unevaluated: list[str] = []
        self.pattern_properties = False


def _walk(node: Any, path: str, found: _Found) -> None:
    """Visit every subschema: check each regex, note the keywords that matter."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{path}.{i}", found)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        here = f"{path}.{key}"
        if key in _DATA:
            continue
        if key == "pattern" and isinstance(value, str):
            _check_pattern(value, here, found)
        elif key == "unevaluatedProperties":
            found.unevaluated.append(here)
            _walk(value, here, found)
        elif key in _MAPS and isinstance(value, dict):
            if key == "patternProperties":
                found.pattern_properties = True
                for pattern in value:
                    _check_pattern(pattern, f"{here}.{pattern}", found)
            for name, sub in value.items():
                _walk(sub, f"{here}.{name}", found)
        else:
            _walk(value, here, found)


def _check_pattern(pattern: str, path: str, found: _Found) -> None:
    try:
        compile_pattern(pattern)
    except UnsafePattern as exc:
        found.problems.append((path, f"the regular expression {pattern[:100]!r} {exc}"))


# -- keywords that run bounded ---------------------------------------------------


def _tick() -> None:
    if time.monotonic() > _deadline.get():
        raise _TooSlow


def _bounded(keyword: Keyword) -> Keyword:
    def run(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        _tick()
        return keyword(validator, value, instance, schema)

    return run


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield js_exceptions.ValidationError(f"{_short(instance)} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, pattern_properties: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        regex = compile_pattern(pattern)
        for key, value in instance.items():
            _tick()
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _extra_properties(instance: dict[str, Any], schema: dict[str, Any]) -> Iterator[str]:
    properties = schema.get("properties", {})
    patterns = [compile_pattern(p) for p in schema.get("patternProperties", {})]
    for key in instance:
        _tick()
        if key not in properties and not any(p.search(key) for p in patterns):
            yield key


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    extras = list(_extra_properties(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        shown = ", ".join(repr(e) for e in sorted(extras)[:10]) + (
            ", ..." if len(extras) > 10 else ""
        )
        if "patternProperties" in schema:
            patterns = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            verb = "does" if len(extras) == 1 else "do"
            message = f"{shown} {verb} not match any of the regexes: {patterns}"
        else:
            verb = "was" if len(extras) == 1 else "were"
            message = f"Additional properties are not allowed ({shown} {verb} unexpected)"
        yield js_exceptions.ValidationError(message)


def _canonical(value: Any) -> Any:
    """A hashable form equal exactly when JSON Schema calls two values equal."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return ("value", value)  # 1 and 1.0 are equal and hash alike


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not (unique and validator.is_type(instance, "array")):
        return
    seen: set[Any] = set()
    for item in instance:
        _tick()
        form = _canonical(item)
        if form in seen:
            yield js_exceptions.ValidationError(f"{_short(instance)} has non-unique elements")
            return
        seen.add(form)


def _multiple_of(validator: Any, divisor: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "number"):
        return
    if isinstance(divisor, float):
        try:
            quotient = instance / divisor
            failed = int(quotient) != quotient
        except OverflowError:  # an integer beyond float range: exact arithmetic
            failed = (Fraction(instance) / Fraction(divisor)).denominator != 1
    else:
        failed = bool(instance % divisor)
    if failed:
        yield js_exceptions.ValidationError(f"{_short(instance)} is not a multiple of {divisor}")


_REPLACED: dict[str, Keyword] = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
    "multipleOf": _multiple_of,
    "divisibleBy": _multiple_of,  # draft 3's name
}


@lru_cache(maxsize=16)
def _bounded_class(base: Any) -> Any:
    """``base`` (one draft's validator class) with RE2 and a deadline in every keyword."""
    keywords = {name: _REPLACED.get(name, fn) for name, fn in base.VALIDATORS.items()}
    return validators.extend(base, {name: _bounded(fn) for name, fn in keywords.items()})


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    return _bounded_class(validators.validator_for(schema))(schema)


# -- checking a payload when it is published ---------------------------------------


def _run(fn: Callable[..., Any], seconds: float, *args: Any) -> tuple[str, Any]:
    """In a pool process: ``fn(*args)`` within ``seconds``, its outcome as plain data.

    The clock starts here, not when the work was queued; exceptions become
    tags, so nothing that cannot be pickled has to cross back.
    """
    token = _deadline.set(time.monotonic() + seconds)
    try:
        return "ok", fn(*args)
    except _TooSlow:
        return "slow", None
    except RecursionError:
        return "deep", None
    except UnsafePattern as exc:
        return "unsafe", str(exc)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"[:300]
    finally:
        _deadline.reset(token)


def _worker_start() -> None:
    # Serving requests and deliveries comes first: checks get the CPU left over.
    with contextlib.suppress(OSError):
        os.nice(10)


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=2,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
        )
    return _pool


async def _off_loop(project_id: str, fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """``fn(*args)`` in a pool process under the deadline, one at a time per project.

    A process, not a thread: a check is Python code, and a thread running it
    would hold the GIL against the event loop. One project's slow checks queue
    behind each other, not in front of other projects'; the pool is small so
    they cannot take every core either.
    """
    gate = _gates.get(project_id)
    if gate is None:
        gate = _gates[project_id] = asyncio.Semaphore(1)
    async with gate:
        loop = asyncio.get_running_loop()
        try:
            outcome: tuple[str, Any] = await loop.run_in_executor(
                _executor(), _run, fn, MAX_SECONDS, *args
            )
        except BrokenProcessPool:
            global _pool
            _pool = None  # a worker died (killed, out of memory): the next check starts anew
            return "error", "the checking process ended"
        return outcome


def _errors(schema_json: str, payload: Any) -> Problems:
    found: Iterable[Any] = islice(_validator(schema_json).iter_errors(payload), 100)
    errors = sorted(found, key=lambda e: [str(p) for p in e.path])
    return [
        (".".join(["payload", *(str(p) for p in e.path)]), e.message[:300])
        for e in errors[:MAX_PROBLEMS]
    ]


async def check_payload(
    project_id: str, event_type: str, schema_json: str, payload: Any
) -> Problems:
    """Problems of ``payload`` under the schema (``[]`` when it conforms).

    Past :data:`MAX_SECONDS`, or when the schema cannot be applied at all (a
    ``$ref`` that resolves nowhere), the one problem names ``payload``.
    """
    kind, value = await _off_loop(project_id, _errors, schema_json, payload)
    if kind == "ok":
        problems: Problems = value
        return problems
    whose = f"the schema of {event_type}"
    if kind == "slow":
        why = f"took longer than {MAX_SECONDS:g} s to check against {whose}"
    elif kind == "deep":
        why = f"nests too deeply to check against {whose}"
    elif kind == "unsafe":
        why = f"cannot be checked: a regular expression in {whose} {value}"
    else:
        log.warning("%s could not be applied: %s", whose, value)
        why = f"cannot be checked against {whose} ({str(value).split(':')[0]})"
    return [("payload", why)]
