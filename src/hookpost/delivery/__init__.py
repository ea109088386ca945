"""Delivery: claim due deliveries, sign, send over HTTP, record, reschedule."""

from hookpost.delivery._tasks import TaskDied
from hookpost.delivery.dispatcher import Dispatcher
from hookpost.delivery.sender import Sender, SendResult

__all__ = ["Dispatcher", "SendResult", "Sender", "TaskDied"]
