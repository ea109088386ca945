"""Cross-process wake-ups on SQLite: what LISTEN/NOTIFY is on PostgreSQL.

Several processes may share one SQLite file (``hookpost serve --no-workers``
beside ``hookpost worker`` processes, to use more than one core). Without a
signal, a worker only learns of new deliveries at its next poll. So each
worker listens on a UDP port on 127.0.0.1 and registers it as an empty file
``<pid>-<port>`` in a directory beside the database (``<database>-wake``);
after committing new due deliveries, a process sends one datagram to every
registered port. The datagram carries nothing: it only means "claim now".

Losing one is harmless (polling still runs, as with NOTIFY); a registration
left by a dead process is removed by the next publisher that notices. Any
local process could send such a datagram; the worst it can do is make a
worker claim early.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from hookpost.core.private_files import PRIVATE_FILE, private_dir

#: How long a publisher trusts its listing of registered workers.
_LISTING_TTL = 1.0


class WakeBoard:
    """The registry of listening workers for one SQLite database file."""

    def __init__(self, database_path: str) -> None:
        self.directory = Path(database_path + "-wake")
        self._sock: socket.socket | None = None
        self._ports: list[int] = []
        self._listed_at = -_LISTING_TTL
        #: This process's own listener, which needs no datagram.
        self.own_port: int | None = None

    def announce(self) -> None:
        """Tell every other registered worker that deliveries may be due (non-blocking)."""
        now = time.monotonic()
        if now - self._listed_at > _LISTING_TTL:
            self._ports = self._list()
            self._listed_at = now
        if not self._ports:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        for port in self._ports:
            with contextlib.suppress(OSError):
                self._sock.sendto(b"!", ("127.0.0.1", port))

    def _list(self) -> list[int]:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        ports = []
        for name in names:
            pid_text, _, port_text = name.partition("-")
            if not (pid_text.isdigit() and port_text.isdigit()):
                continue
            if not _alive(int(pid_text)):
                with contextlib.suppress(OSError):
                    (self.directory / name).unlink()
                continue
            if int(port_text) != self.own_port:
                ports.append(int(port_text))
        return ports

    def register(self, port: int) -> Path:
        private_dir(self.directory)
        entry = self.directory / f"{os.getpid()}-{port}"
        entry.touch(mode=PRIVATE_FILE)
        self.own_port = port
        return entry

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


class _Wakeups(asyncio.DatagramProtocol):
    def __init__(self, on_notify: Callable[[], None]) -> None:
        self._on_notify = on_notify

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._on_notify()


class WakeListener:
    """A worker's end: listen, register, and call ``on_notify`` on each datagram.

    The same interface as the PostgreSQL :class:`~hookpost.store._backend.Listener`.
    """

    def __init__(self, board: WakeBoard, on_notify: Callable[[], None]) -> None:
        self._board = board
        self._on_notify = on_notify
        self._transport: asyncio.DatagramTransport | None = None
        self._entry: Path | None = None

    async def ensure(self) -> bool:
        """Listening and registered (again, if the registration was removed)."""
        if self._transport is None:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Wakeups(self._on_notify), local_addr=("127.0.0.1", 0)
            )
        if self._entry is None or not self._entry.exists():
            port = int(self._transport.get_extra_info("sockname")[1])
            try:
                self._entry = self._board.register(port)
            except OSError:
                return False  # the directory is not writable: polling only
        return True

    async def close(self) -> None:
        if self._entry is not None:
            with contextlib.suppress(OSError):
                self._entry.unlink()
            self._entry = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
