"""Which custom endpoint headers are secrets -- the one rule -- and how they are masked.

Customers put their receiver's credentials in custom headers
(``Authorization: Bearer …``, ``X-Api-Key: …``). Such a value is as secret as
a signing secret: it is encrypted at rest (:mod:`hookpost.store._sealing`),
sent for real on the wire, and everywhere else -- API answers to every key,
dashboard and portal pages, the attempt log, copy-as-curl, logs -- shown as
:data:`MASK`. Only the operator, signed in to the dashboard, reveals it, on
purpose.

A header is secret when its name says so or when it was marked so:

- by name (case-insensitive, ``_`` read as ``-``): ``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, and any name whose
  last ``-``-separated word is one of :data:`SECRET_WORDS` -- ``X-Api-Key``,
  ``X-Auth-Token``, ``Private-Token``, ``X-Webhook-Secret``,
  ``X-Db-Password``, ``Key``, ``Authentication``, ``X-Session`` -- or
  whose last word ends with one of :data:`SECRET_ENDINGS` (``X-ApiToken``,
  ``XAuthToken``). Signature headers are not secret by name: hookpost sets
  them itself and attempt records keep them;
- by mark: an endpoint's ``secret_headers`` lists more names. A marked header
  stays secret for as long as the endpoint has a header of that name.

Every place that shows headers calls :func:`mask`; nothing else decides.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping

#: What a secret header's value is shown as. Sent back unchanged in an update,
#: it stands for the stored value (so a form or a GET-edit-PATCH keeps it).
MASK = "[redacted]"

#: Whole header names that are secret.
SECRET_NAMES = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"}
)
#: A name whose last word is one of these is secret (``X-Api-Key``, ``X-Client-Secret``).
SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "key",
        "apikey",
        "password",
        "passwd",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "authentication",
        "bearer",
        "session",
        "sessionid",
        "sid",
        "passphrase",
        "pwd",
        "jwt",
        "cookie",
    }
)
#: A last word run together from others and ending so is secret too
#: (``X-ApiToken``, ``XAuthToken``, ``X-AccessKey``, ``X-OAuth``) -- but not a
#: bare ``key``, which would take in ``X-Monkey``.
SECRET_ENDINGS = (
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "credentials",
    "auth",
)


def normalize(name: str) -> str:
    """The form names are compared in: lower case, ``_`` as ``-``."""
    return name.strip().lower().replace("_", "-")


def secret_by_name(name: str) -> bool:
    """Is ``name`` secret by the rule alone (without any mark)?"""
    n = normalize(name)
    last = n.rsplit("-", 1)[-1]
    return n in SECRET_NAMES or last in SECRET_WORDS or last.endswith(SECRET_ENDINGS)


#: :func:`secret_by_name` of the names seen, as they were spelled: every attempt
#: masks the same few header names (its wire headers), so the rule runs once per
#: name instead of once per header of every attempt. Bounded: at most this many
#: names are kept (a name is not a secret, its value is), each of at most
#: :data:`CACHED_CHARS` characters.
_by_name_cached = functools.lru_cache(maxsize=2048)(secret_by_name)

#: The longest name, and the most characters of a set of names, the caches keep: a
#: receiver's answer may carry 128 headers of 8 KB names (what aiohttp accepts), and
#: a hostile one varying them would otherwise fill the caches with megabytes.
CACHED_CHARS = 2048
#: The most names of one set :func:`_secret_among` keeps (a delivery's wire headers are ~10).
CACHED_NAMES = 32


def _by_name(name: str) -> bool:
    return _by_name_cached(name) if len(name) <= CACHED_CHARS else secret_by_name(name)


def is_secret(name: str, marked: Iterable[str] = ()) -> bool:
    """Is the header ``name`` secret, by the rule or because ``marked`` names it?"""
    return _is_secret(name, {normalize(m) for m in marked})


def _is_secret(name: str, marks: Collection[str]) -> bool:
    """:func:`is_secret` with the marks normalized once by the caller (a set)."""
    return _by_name(name) or (bool(marks) and normalize(name) in marks)


def secret_names(headers: Mapping[str, str] | None, marked: Iterable[str] = ()) -> list[str]:
    """The names in ``headers`` whose values are secret, as the headers spell them."""
    marks = {normalize(m) for m in marked}
    return [k for k in headers or {} if _is_secret(k, marks)]


def mask(headers: Mapping[str, str] | None, marked: Iterable[str] = ()) -> dict[str, str]:
    """``headers`` with every secret value replaced by :data:`MASK`.

    A plain dict of a few short names (every attempt's wire headers) takes
    :func:`_secret_among`, the secret names of its names, cached: an endpoint's
    attempts send the same names with new values, so the rule runs once per set of
    names rather than once per header of every attempt (9 headers: 1.1 -> 0.3 us).
    Larger sets (a receiver's answer may hold 128 headers of 8 KB names) go header
    by header, so the cache stays small.
    """
    if type(headers) is dict and len(headers) <= CACHED_NAMES:
        names = tuple(headers)
        if sum(map(len, names)) <= CACHED_CHARS:
            out = headers.copy()
            for name in _secret_among(names, tuple(marked)):
                out[name] = MASK
            return out
    marks = {normalize(m) for m in marked}
    return {k: MASK if _is_secret(k, marks) else v for k, v in (headers or {}).items()}


@functools.lru_cache(maxsize=1024)
def _secret_among(names: tuple[str, ...], marked: tuple[str, ...]) -> tuple[str, ...]:
    """Which of ``names`` are secret, by the rule or because ``marked`` names them."""
    marks = {normalize(m) for m in marked}
    return tuple(k for k in names if _is_secret(k, marks))


class HeaderProblem(ValueError):
    """What is wrong with the headers or marks an update sent, and which field it names."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def merge(
    sent: Mapping[str, str] | None,
    marks: Iterable[str] | None,
    before: Mapping[str, str] | None = None,
    before_secret: Iterable[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """The headers and secret names a create or update leaves.

    ``sent`` is None when the update leaves the headers as they were. A
    :data:`MASK` value keeps the stored value of that name (any case); a
    header that was secret stays secret while it exists; ``marks`` marks more
    (each must name one of the resulting headers).
    """
    before = dict(before or {})
    stored = {normalize(k): v for k, v in before.items()}
    headers = dict(before if sent is None else sent)
    for name, value in headers.items():
        if value == MASK:
            if normalize(name) not in stored:
                raise HeaderProblem(
                    f"headers.{name}", f"{MASK!r} stands for a stored value, and there is none"
                )
            headers[name] = stored[normalize(name)]
    present = {normalize(k) for k in headers}
    for mark in marks or []:
        if normalize(mark) not in present:
            raise HeaderProblem("secret_headers", f"{mark!r} is not one of the headers")
    return headers, secret_names(headers, [*before_secret, *(marks or [])])
