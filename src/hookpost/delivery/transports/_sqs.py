"""Amazon SQS with aiobotocore: one ``SendMessage`` per delivery, the MessageId as the answer.

``sqs://[KEY_ID:SECRET@]QUEUE_HOST/ACCOUNT/QUEUE?region=R&endpoint_url=U``
sends to ``https://QUEUE_HOST/ACCOUNT/QUEUE`` -- or, with ``endpoint_url``
(a local emulator such as moto or LocalStack), to ``U/ACCOUNT/QUEUE``. The
credentials are the URL's, or without any the standard AWS chain (environment,
shared files, instance role). The attempt succeeds when SQS answers with a
MessageId: the message is stored.

The body is the profile's body as the message body (SQS bodies are text:
a body that is not UTF-8 is a failed attempt). The request's headers are
String message attributes; SQS allows 10, so an endpoint with more custom
headers than fit gets a failed attempt saying so, not a message without its
signature. A FIFO queue (``.fifo``) gets the endpoint id as
``MessageGroupId`` (one ordered group per endpoint) and the event id as
``MessageDeduplicationId``: a retry after a lost answer is dropped by SQS,
and so is a resend within SQS's five-minute deduplication window.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from hookpost.core.destination_url import Destination
from hookpost.delivery.transports import About, BrokerError, PooledTransport

__all__ = ["Transport"]

MAX_ATTRIBUTES = 10
_DEDUP_ID = re.compile(r"[!-~]{1,128}")
_AUTH_CODES = (
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidAccessKeyId",
)
_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class Transport(PooledTransport[Any]):
    async def _connect(self, dest: Destination, address: str, timeout: float) -> Any:
        config = AioConfig(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1, "mode": "standard"},  # the schedule retries
        )
        creator = get_session().create_client(
            "sqs",
            region_name=dest.options["region"],
            endpoint_url=dest.options.get("endpoint_url"),
            aws_access_key_id=dest.username,
            aws_secret_access_key=dest.password,
            config=config,
        )
        return await creator.__aenter__()

    async def _close(self, conn: Any) -> None:
        await conn.__aexit__(None, None, None)

    async def _publish(
        self,
        conn: Any,
        dest: Destination,
        body: bytes,
        headers: dict[str, str],
        about: About,
        timeout: float,
    ) -> str:
        account, queue = dest.path.split("/")
        base = dest.options.get("endpoint_url") or f"https://{dest.host}"
        if len(headers) > MAX_ATTRIBUTES:
            raise BrokerError(
                f"SQS takes at most {MAX_ATTRIBUTES} message attributes and this message "
                f"has {len(headers)} headers: remove custom headers from the endpoint"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BrokerError("the body is not UTF-8 text, which SQS requires") from None
        request: dict[str, Any] = {
            "QueueUrl": f"{base.rstrip('/')}/{account}/{queue}",
            "MessageBody": text,
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value}
                for name, value in headers.items()
            },
        }
        if queue.endswith(".fifo"):
            request["MessageGroupId"] = about.endpoint_id
            request["MessageDeduplicationId"] = _dedup_id(about.event_id)
        answer = await conn.send_message(**request)
        return f"stored by SQS as message {answer.get('MessageId')}"

    def describe(self, exc: BaseException) -> str | None:
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return "authentication failed: no AWS credentials (none in the URL or the chain)"
        if isinstance(exc, EndpointConnectionError):
            return "broker unreachable: could not connect to the SQS endpoint"
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", "")
            if code in _AUTH_CODES:
                return f"authentication failed: {code}: {message}"
            if code in _NO_QUEUE:
                return f"queue does not exist ({code})"
            return f"SQS refused: {code}: {message}"
        return None


def _dedup_id(event_id: str) -> str:
    """The event id, or its SHA-256 when SQS would refuse it as a deduplication id."""
    if _DEDUP_ID.fullmatch(event_id):
        return event_id
    return hashlib.sha256(event_id.encode()).hexdigest()
