"""Request and response bodies of the REST API (pydantic v2), one module per resource.

- :mod:`~hookpost.web.schemas.common`: patterns, times (:func:`iso`, :data:`Moment`),
  the strict request base :class:`In`, :class:`ListOut` and :class:`ErrorOut`;
- :mod:`~hookpost.web.schemas.checks`: URL, header and filter checks;
- :mod:`~hookpost.web.schemas.projects`, :mod:`~hookpost.web.schemas.endpoints`,
  :mod:`~hookpost.web.schemas.events` (with deliveries), :mod:`~hookpost.web.schemas.jobs`,
  :mod:`~hookpost.web.schemas.catalog` (profiles, event types), :mod:`~hookpost.web.schemas.audit`
  (audit log entries), :mod:`~hookpost.web.schemas.tokens` (personal tokens).

Request models forbid unknown fields, so a typo is a 422 naming the field
rather than a silently ignored setting. Every name is importable from
``hookpost.web.schemas`` itself.
"""

from __future__ import annotations

from hookpost.domain import DeliveryStatus
from hookpost.web.schemas.audit import AuditActorOut, AuditEntryOut, AuditObjectOut
from hookpost.web.schemas.catalog import (
    CustomProfileIn,
    CustomProfileOut,
    EventTypeIn,
    EventTypeOut,
    SeedIn,
)
from hookpost.web.schemas.checks import HEADER_NAME_RE, RESERVED_HEADERS
from hookpost.web.schemas.common import (
    EARLIEST,
    EVENT_ID_RE,
    EVENT_TYPE_RE,
    LATEST,
    PATTERN_WORDS,
    PROFILE_NAME_RE,
    SUBSCRIPTION_RE,
    ErrorDetail,
    ErrorOut,
    In,
    ListOut,
    Moment,
    Timestamp,
    check_json_payload,
    in_range,
    iso,
)
from hookpost.web.schemas.endpoints import (
    MAX_ATTEMPTS_DOC,
    SECRET_HEADERS_DOC,
    SIGNING_DESCRIPTION,
    EndpointCreated,
    EndpointHealth,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    RotateIn,
    Signing,
    Subscription,
)
from hookpost.web.schemas.events import (
    MAX_BATCH,
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    EventAccepted,
    EventBatchIn,
    EventBatchItem,
    EventBatchOut,
    EventIn,
    EventOut,
    EventRepeated,
    ReleasedOut,
    TestIn,
    read_event,
)
from hookpost.web.schemas.jobs import JobOut, ProjectRecoverIn, RecoverIn, RecoverOut
from hookpost.web.schemas.projects import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ProjectCreated,
    ProjectIn,
    ProjectOut,
    ProjectSettingsIn,
)
from hookpost.web.schemas.tokens import MAX_TOKEN_DAYS, TokenCreated, TokenIn, TokenOut

__all__ = [
    "EARLIEST",
    "EVENT_ID_RE",
    "EVENT_TYPE_RE",
    "HEADER_NAME_RE",
    "LATEST",
    "MAX_ATTEMPTS_DOC",
    "MAX_BATCH",
    "MAX_TOKEN_DAYS",
    "PATTERN_WORDS",
    "PROFILE_NAME_RE",
    "RESERVED_HEADERS",
    "SECRET_HEADERS_DOC",
    "SIGNING_DESCRIPTION",
    "SUBSCRIPTION_RE",
    "ApiKeyCreated",
    "ApiKeyIn",
    "ApiKeyOut",
    "AttemptOut",
    "AuditActorOut",
    "AuditEntryOut",
    "AuditObjectOut",
    "CustomProfileIn",
    "CustomProfileOut",
    "DeliveryDetail",
    "DeliveryOut",
    "DeliveryStatus",
    "EndpointCreated",
    "EndpointHealth",
    "EndpointIn",
    "EndpointOut",
    "EndpointPatch",
    "ErrorDetail",
    "ErrorOut",
    "EventAccepted",
    "EventBatchIn",
    "EventBatchItem",
    "EventBatchOut",
    "EventIn",
    "EventOut",
    "EventRepeated",
    "EventTypeIn",
    "EventTypeOut",
    "In",
    "JobOut",
    "ListOut",
    "Moment",
    "ProjectCreated",
    "ProjectIn",
    "ProjectOut",
    "ProjectRecoverIn",
    "ProjectSettingsIn",
    "RecoverIn",
    "RecoverOut",
    "ReleasedOut",
    "RotateIn",
    "SeedIn",
    "Signing",
    "Subscription",
    "TestIn",
    "Timestamp",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
    "check_json_payload",
    "in_range",
    "iso",
    "read_event",
]
