"""The checks behind request fields that pydantic's types cannot say: URLs, headers, filters.

Each returns the value (possibly normalised) or raises ValueError with the words
the 422 shows next to the field.
"""

from __future__ import annotations

import re
from ipaddress import IPv6Address
from typing import Any
from urllib.parse import urlsplit

from yarl import URL

from hookpost.core import crypto, destination_url, filters, limits
from hookpost.core.netguard import numeric_host

HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers the signature scheme or HTTP itself owns.
RESERVED_HEADERS = {
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    # 100-continue makes the HTTP client hold the body until the receiver answers
    # an interim response, which many receivers never send: every attempt would
    # stall until its timeout. Whether to ask for one is the sender's business.
    "expect",
    "proxy-authorization",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    # the seed providers' signature headers
    "stripe-signature",
    "gj-signature",
    "x-request-signature",
    "signature",
    "byl-signature",
}


def check_url(url: str) -> str:
    url = url.strip()
    if len(url) > 2048:
        raise ValueError("must be at most 2048 characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("must not contain spaces or control characters")
    if "\\" in url:  # browsers read it as "/", urllib and yarl do not: no one reading
        raise ValueError("must not contain a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if destination_url.is_broker(url):
        try:
            destination_url.parse(url)  # credentials are fine here: sealed and masked
        except destination_url.DestinationProblem as exc:
            raise ValueError(str(exc)) from None
        problem = _host_problem(url, bracketed="[" in parts.netloc)
        if problem is not None:
            raise ValueError(problem)
        return url
    if parts.scheme not in ("http", "https"):
        raise ValueError(destination_url.SCHEMES_TEXT)
    if not parts.hostname:
        raise ValueError("must include a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    if port == 0:
        raise ValueError("has an invalid port")
    problem = _host_problem(url, bracketed="[" in parts.netloc)
    if problem is not None:
        raise ValueError(problem)
    return url


_HOST_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")


def _host_problem(url: str, *, bracketed: bool) -> str | None:
    """Why the sender could not use the host as yarl (and so aiohttp) reads it, or None.

    urllib and yarl disagree on spellings urllib lets through (``a\\b``,
    ``[::1]x``, empty or invalid IDNA labels, zero-width characters): what is
    registered must be what is delivered to, so yarl's reading must be a plain
    DNS name or IP address too.
    """
    try:
        target = URL(url)
        host = target.raw_host or ""
        _ = target.port
    except (ValueError, UnicodeError, TypeError) as exc:
        return f"is not a valid URL ({exc})"
    if not host:
        return "must include a host"
    if bracketed:
        try:
            IPv6Address(host)
        except ValueError:
            return "has an invalid IPv6 address"
        return "must not name a network interface (%)" if "%" in host else None
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        return "has a host name longer than 253 characters"
    labels = name.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return "has an invalid host name (letters, digits, '-' and '_' between dots)"
    if not all(_a_label_ok(label) for label in labels):
        return "has an invalid internationalized (IDNA) host name"
    if labels[-1].isdigit() and numeric_host(host) is None:
        return "is not a valid IPv4 address"
    return None


def _a_label_ok(label: str) -> bool:
    """An ``xn--`` label must decode to printable non-ASCII text (else it is no A-label)."""
    if not label.lower().startswith("xn--"):
        return True
    try:
        text = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return bool(text) and text.isprintable() and not text.isascii()


def check_filter(flt: dict[str, Any] | None) -> dict[str, Any] | None:
    if flt is None:
        return None
    limits.check_shape(flt)
    try:
        filters.validate(flt, path="filter")
    except filters.FilterError as exc:
        raise ValueError(f"{exc.path[len('filter.') :] or 'filter'}: {exc.message}") from None
    return flt


def check_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    if len(headers) > 20:
        raise ValueError("at most 20 custom headers")
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if not HEADER_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        # Header names ignore case: the HTTP client sends one of the two and
        # drops the other without a word, so the configuration would lie.
        if (first := seen.setdefault(name.lower(), name)) != name:
            raise ValueError(f"{name!r} repeats {first!r} (header names ignore case)")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name!r} is set by hookpost and cannot be overridden")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"the value of {name!r} contains a line break")
        if value.startswith(crypto.PREFIX):
            # The stored form of a sealed value: a clear one may not look like it.
            raise ValueError(f"the value of {name!r} may not start with {crypto.PREFIX!r}")
        if len(name) + len(value) > 1024:
            raise ValueError(f"{name!r} is too long")
    return headers


def check_secret_names(names: list[str] | None) -> list[str] | None:
    for name in names or []:
        if not HEADER_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
    return names
