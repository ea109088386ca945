"""Name mapping from hookpost event types to Gluwa's spellings.

hookpost event types are ``object.action`` in lower case
(``transaction.confirmed``, ``exchange.success``); Gluwa V2 writes the event
as ``TRANSACTION.CONFIRMED`` with resource type ``Transaction``, and V1 as
``TransactionConfirmed``. Dashes and underscores split words.
"""

from __future__ import annotations

import re
import uuid

#: Namespace for turning a non-UUID hookpost event id into a stable UUID.
_ID_NAMESPACE = uuid.UUID("6b1f3c2e-5f0a-4d1e-9a7c-3e8b2d4f6a10")


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[-_\s]+", text) if w]


def _pascal(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in _words(text))


def split_type(event_type: str) -> tuple[str, str]:
    """``("transaction", "confirmed")``; an event type without a dot is all object."""
    obj, _, action = event_type.partition(".")
    return obj, action


def resource_type(event_type: str) -> str:
    """``transaction.confirmed`` -> ``Transaction``."""
    return _pascal(split_type(event_type)[0])


def event_name(event_type: str) -> str:
    """``transaction.confirmed`` -> ``TRANSACTION.CONFIRMED``."""
    return event_type.upper()


def v1_event_type(event_type: str) -> str:
    """``transaction.confirmed`` -> ``TransactionConfirmed``."""
    obj, action = split_type(event_type)
    return _pascal(obj) + _pascal(action)


def summary(event_type: str) -> str:
    """``transaction.confirmed`` -> ``Transaction confirmed``."""
    obj, action = split_type(event_type)
    text = " ".join([resource_type(event_type), *(w.lower() for w in _words(action))])
    return text if action else _pascal(obj)


def webhook_uuid(event_id: str, project_id: str) -> str:
    """Gluwa's ``ID`` is a UUID: a UUID event id is kept, anything else is mapped
    to a stable UUIDv5 so every retry of the event carries the same ``ID``."""
    try:
        return str(uuid.UUID(event_id))
    except ValueError:
        return str(uuid.uuid5(_ID_NAMESPACE, f"{project_id}/{event_id}"))
