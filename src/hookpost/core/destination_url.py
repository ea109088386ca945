"""Destination URLs beyond HTTP: one parser, one validator, one mask -- by scheme.

An endpoint's URL says where its events go (issue 19). ``http``/``https`` are
webhooks; the other schemes name a message broker, and everything the
transport needs to publish comes from the URL:

=================  =============================================================
``amqp``/``amqps`` ``amqp://USER:PASS@HOST:PORT/VHOST?exchange=X&routing_key=K``
                   (vhost ``/`` is ``%2F`` or nothing; default exchange, routing
                   key = the event type)
``redis``/``rediss`` ``redis://[[USER]:PASS@]HOST:PORT/DB?stream=S&maxlen=N&nomkstream=1``
                   (stream ``hookpost``; ``maxlen`` trims approximately)
``nats``           ``nats://[USER:PASS@]HOST:PORT?subject=S`` (subject = the event type)
``mqtt``/``mqtts`` ``mqtt://[USER:PASS@]HOST:PORT/TOPIC/PATH`` (topic = the event type)
``sqs``            ``sqs://[KEY_ID:SECRET@]QUEUE_HOST/ACCOUNT/QUEUE?region=R&endpoint_url=U``
                   (no credentials: the standard AWS chain; ``endpoint_url`` for emulators)
=================  =============================================================

The password in a URL is a credential: the store encrypts such a URL at rest
(:mod:`hookpost.store._sealing`) and every answer, page, attempt and log line
shows :func:`mask`'s form, the password replaced by :data:`URL_MASK`. Sent
back unchanged in an update, the mask stands for the stored password
(:func:`unmask`), as a masked secret header does. The mask is ``***`` and not
``[redacted]`` because brackets in a URL's authority mean an IPv6 address.

This module is pure (no I/O, no client library): the API validates with it,
the transports read their options from the :class:`Destination` it returns.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

__all__ = [
    "BROKER_SCHEMES",
    "SCHEMES",
    "URL_MASK",
    "Destination",
    "DestinationProblem",
    "has_credentials",
    "is_broker",
    "mask",
    "parse",
    "unmask",
]

#: What a URL's password is shown as.
URL_MASK = "***"

#: Broker scheme family -> the extra that installs its client (``pip install hookpost[NAME]``).
EXTRAS = {"amqp": "rabbitmq", "redis": "redis", "nats": "nats", "mqtt": "mqtt", "sqs": "sqs"}

SCHEMES = ("http", "https", "amqp", "amqps", "redis", "rediss", "nats", "mqtt", "mqtts", "sqs")
#: How the API names them when a URL has none of them.
SCHEMES_TEXT = "must be an http(s), amqp(s), redis(s), nats, mqtt(s) or sqs URL"
#: Schemes whose traffic is encrypted (HOOKPOST_HTTPS_ONLY allows only these).
TLS_SCHEMES = frozenset({"https", "amqps", "rediss", "mqtts", "sqs"})

_PORTS = {
    "amqp": 5672,
    "amqps": 5671,
    "redis": 6379,
    "rediss": 6379,
    "nats": 4222,
    "mqtt": 1883,
    "mqtts": 8883,
    "sqs": 443,
}
_KINDS = {
    "amqp": "amqp",
    "amqps": "amqp",
    "redis": "redis",
    "rediss": "redis",
    "nats": "nats",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
    "sqs": "sqs",
}
BROKER_SCHEMES = frozenset(_KINDS)
_OPTIONS = {
    "amqp": ("exchange", "routing_key"),
    "redis": ("stream", "maxlen", "nomkstream"),
    "nats": ("subject",),
    "mqtt": ("qos",),
    "sqs": ("region", "endpoint_url"),
}
_NATS_TOKEN = re.compile(r"[^\s*>.]+")
_SQS_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,80}")
_SQS_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_AWS_REGION_HOST = re.compile(r"sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")
_TRUE = ("1", "true", "yes")


class DestinationProblem(ValueError):
    """A broker URL that cannot be used; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A broker URL read: where to connect, as whom, and where to publish."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    #: The scheme's family: ``amqp``, ``redis``, ``nats``, ``mqtt`` or ``sqs``.
    kind: str = ""
    tls: bool = False
    #: AMQP vhost, Redis db (as text), MQTT topic, SQS ``ACCOUNT/QUEUE``.
    path: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def pool_key(self) -> tuple[object, ...]:
        """What one pooled connection serves: everything but where in it to publish."""
        return (self.scheme, self.host, self.port, self.username, self.password, self.path)


def is_broker(url: str) -> bool:
    return url[: url.find("://")].lower() in BROKER_SCHEMES if "://" in url else False


def parse(url: str) -> Destination:
    """Read a broker URL; :class:`DestinationProblem` says what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationProblem(f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in BROKER_SCHEMES:
        raise DestinationProblem(SCHEMES_TEXT)
    host = parts.hostname or ""
    if not host:
        raise DestinationProblem("must include a host")
    if port == 0:
        raise DestinationProblem("has an invalid port")
    kind = _KINDS[scheme]
    if "#" in url:
        if kind == "mqtt":
            raise DestinationProblem("has a topic with a wildcard (+ or #): publish to one topic")
        raise DestinationProblem("must not have a #fragment")
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if name not in _OPTIONS[kind]:
            takes = ", ".join(_OPTIONS[kind])
            raise DestinationProblem(f"has an unknown option {name!r} ({scheme}:// takes {takes})")
        if name in options:
            raise DestinationProblem(f"has the option {name!r} twice")
        options[name] = value
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    dest = Destination(
        scheme=scheme,
        host=host,
        port=port or _PORTS[scheme],
        username=user or None,
        password=password,
        kind=kind,
        tls=scheme in TLS_SCHEMES,
        path=parts.path,
        options=options,
    )
    return _CHECKS[kind](dest)


def _amqp(d: Destination) -> Destination:
    vhost = unquote(d.path[1:]) if d.path.startswith("/") else unquote(d.path)
    if "/" in d.path[1:]:
        raise DestinationProblem("has a path with more than the vhost (write vhost '/' as %2F)")
    for name in ("exchange", "routing_key"):
        value = d.options.get(name, "")
        if len(value.encode()) > 255:
            raise DestinationProblem(f"has a {name} longer than 255 bytes")
    return _with(d, path=vhost or "/")


def _redis(d: Destination) -> Destination:
    db = d.path.strip("/") or "0"
    if not db.isdigit() or int(db) > 1_000_000:
        raise DestinationProblem("has a database that is not a number (redis://HOST:PORT/DB)")
    maxlen = d.options.get("maxlen")
    if maxlen is not None and (not maxlen.isdigit() or int(maxlen) < 1):
        raise DestinationProblem("has a maxlen that is not a positive whole number")
    if d.options.get("stream", "hookpost") == "":
        raise DestinationProblem("has an empty stream name")
    if d.options.get("nomkstream", "0").lower() not in (*_TRUE, "0", "false", "no"):
        raise DestinationProblem("has a nomkstream that is not true or false")
    return _with(d, path=str(int(db)))


def _nats(d: Destination) -> Destination:
    if d.path not in ("", "/"):
        raise DestinationProblem("must name its subject as ?subject=NAME, not in the path")
    subject = d.options.get("subject")
    if subject is not None and not all(_NATS_TOKEN.fullmatch(t) for t in subject.split(".")):
        raise DestinationProblem(
            "has an invalid subject (dot-separated tokens, no spaces or wildcards)"
        )
    return _with(d, path="")


def _mqtt(d: Destination) -> Destination:
    topic = unquote(d.path[1:]) if d.path.startswith("/") else ""
    if "+" in topic or "#" in topic:
        raise DestinationProblem("has a topic with a wildcard (+ or #): publish to one topic")
    if "\x00" in topic or len(topic.encode()) > 65535:
        raise DestinationProblem("has an invalid topic")
    if d.options.get("qos", "1") != "1":
        raise DestinationProblem("has a qos other than 1 (hookpost publishes at QoS 1)")
    return _with(d, path=topic)


def _sqs(d: Destination) -> Destination:
    pieces = d.path.strip("/").split("/")
    if len(pieces) != 2 or not _SQS_ACCOUNT.fullmatch(pieces[0]):
        raise DestinationProblem("must be sqs://QUEUE_HOST/ACCOUNT/QUEUE")
    queue = pieces[1]
    name = queue.removesuffix(".fifo")
    if not _SQS_QUEUE.fullmatch(name):
        raise DestinationProblem("has an invalid queue name (letters, digits, - and _)")
    if (d.username is None) != (d.password is None):
        raise DestinationProblem("needs both KEY_ID:SECRET@ or neither (the AWS credential chain)")
    region = d.options.get("region")
    if not region:
        found = _AWS_REGION_HOST.fullmatch(d.host)
        if found is None:
            raise DestinationProblem("needs ?region=R (the host does not name one)")
        region = found.group(1)
    endpoint = d.options.get("endpoint_url")
    if endpoint is not None:
        try:
            ep = urlsplit(endpoint)
            _ = ep.port
        except ValueError:
            raise DestinationProblem("has an endpoint_url that is not a valid URL") from None
        if ep.scheme not in ("http", "https") or not ep.hostname:
            raise DestinationProblem("has an endpoint_url that is not an http(s):// URL")
        if ep.username is not None or ep.path.strip("/") or ep.query:
            raise DestinationProblem("has an endpoint_url with more than scheme, host and port")
    return _with(d, path=f"{pieces[0]}/{queue}", options={**d.options, "region": region})


_CHECKS = {"amqp": _amqp, "redis": _redis, "nats": _nats, "mqtt": _mqtt, "sqs": _sqs}


def _with(d: Destination, **changes: Any) -> Destination:
    return dataclasses.replace(d, **changes)


def connect_host(d: Destination) -> tuple[str, int]:
    """The host and port hookpost opens a connection to (an emulator's for SQS)."""
    endpoint = d.options.get("endpoint_url")
    if d.kind == "sqs" and endpoint:
        ep = urlsplit(endpoint)
        return ep.hostname or "", ep.port or (443 if ep.scheme == "https" else 80)
    return d.host, d.port


def is_secure(url: str) -> bool:
    """Does traffic to ``url`` go encrypted (for HOOKPOST_HTTPS_ONLY)?"""
    scheme = url[: url.find("://")].lower() if "://" in url else ""
    if scheme != "sqs":
        return scheme in TLS_SCHEMES
    endpoint = dict(parse_qsl(urlsplit(url).query)).get("endpoint_url", "https://")
    return endpoint.lower().startswith("https://")


def has_credentials(url: str) -> bool:
    """Does this broker URL carry a password (and so must be sealed and masked)?"""
    if not is_broker(url):
        return False
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def _replace_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    netloc = f"{user}:{password}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def mask(url: str) -> str:
    """``url`` with its password shown as :data:`URL_MASK` (any other URL unchanged)."""
    if not has_credentials(url):
        return url
    return _replace_password(url, URL_MASK)


def unmask(url: str, stored: str | None) -> str:
    """``url`` with a masked password replaced by ``stored``'s (an update sent back as shown).

    :class:`DestinationProblem` when the mask stands for nothing: the stored URL
    has no password.
    """
    if not has_credentials(url) or urlsplit(url).password != URL_MASK:
        return url
    if stored is None or not has_credentials(stored):
        raise DestinationProblem(
            f"has the password {URL_MASK}, which stands for the stored one, but there is none"
        )
    return _replace_password(url, quote(unquote(urlsplit(stored).password or ""), safe=""))
