"""Event types each seed provider documents, for ``POST .../event-types/seed``.

Names are hookpost's ``object.action`` spelling; profiles map them back to the
provider's own spelling on the wire (e.g. Gluwa's ``TRANSACTION.CONFIRMED``).
"""

from __future__ import annotations

from typing import Any

_OBJECT = {"type": "object"}

PROVIDER_EVENT_TYPES: dict[str, list[dict[str, Any]]] = {
    "galaxyjoy": [
        {"name": "user.created", "description": "User created"},
        {"name": "user.updated-profile", "description": "User profile updated"},
        {"name": "user.updated-ekyc", "description": "User eKYC updated"},
        {"name": "user.updated-balance", "description": "User balance updated"},
        {"name": "user.updated-tier", "description": "User tier updated"},
        {"name": "user.activated", "description": "User activated"},
        {"name": "user.deleted", "description": "User deleted"},
    ],
    "gluwa": [
        {"name": "transaction.created", "description": "A transaction was created"},
        {"name": "transaction.confirmed", "description": "A transaction was confirmed"},
        {"name": "transaction.failed", "description": "A transaction failed"},
        {"name": "exchange.success", "description": "An exchange succeeded"},
        {"name": "exchange.failed", "description": "An exchange failed"},
    ],
    "justwallet": [
        {"name": "payout", "description": "Payout event"},
        {"name": "collection", "description": "Account funding event"},
        {"name": "funding", "description": "Account funding event"},
        {"name": "quote_creation.success", "description": "Masspay quote created"},
        {"name": "quote_creation.failed", "description": "Masspay quote creation failed"},
        {"name": "quote_funding.success", "description": "Masspay quote funded"},
        {"name": "quote_funding.failed", "description": "Masspay quote funding failed"},
    ],
    "byl": [
        {
            "name": "invoice.paid",
            "description": "An invoice was paid",
            "schema": {**_OBJECT, "required": ["id"], "properties": {"id": {}}},
        },
        {
            "name": "checkout.completed",
            "description": "A checkout was paid",
            "schema": {**_OBJECT, "required": ["id"], "properties": {"id": {}}},
        },
    ],
}
