"""HTTP downloads with retries (requests + urllib3 Retry), shared by the IAM archives and the pretrained weights.

A read timeout bounds the wait between two bytes, not a whole transfer: a server that sends a byte every 30 s keeps
a download open forever. `limited_get` adds a total deadline and a size limit. While a `Deadline` is active, the
sockets of this module's sessions are shut down when it passes (a read blocked on one returns at once), no new
connection is opened, and no retry waits past it.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry

_active = threading.local()


class TransferStopped(Exception):
    """A download stopped by its deadline or size limit; the message says which."""


class Deadline:
    """`with Deadline(seconds):` limits the total time of this thread's requests made through `new_session`."""

    def __init__(self, seconds: float):
        self.seconds, self._fired = seconds, False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Deadline:
        self._end = time.monotonic() + self.seconds
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        _active.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _active.deadline = None

    def remaining(self) -> float:
        return self._end - time.monotonic()

    @property
    def expired(self) -> bool:
        return self._fired or self.remaining() <= 0

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self._fired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _deadline() -> Deadline | None:
    return getattr(_active, "deadline", None)


def _watched(base: type[HTTPConnection]) -> type[HTTPConnection]:
    class Watched(base):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            deadline = _deadline()
            if deadline is not None:
                left = deadline.remaining()
                if left <= 0:
                    raise ConnectTimeoutError(self, f"{self.host}: past the {deadline.seconds:g} s time limit")
                self.timeout = min(self.timeout, left) if isinstance(self.timeout, (int, float)) else left
            super().connect()
            if deadline is not None:
                deadline.watch(self.sock)

        def getresponse(self):  # a kept-alive connection is watched from the request it serves
            if (deadline := _deadline()) is not None and self.sock is not None:
                deadline.watch(self.sock)
            return super().getresponse()
    return Watched


class _Pool(HTTPConnectionPool):
    ConnectionCls = _watched(HTTPConnection)


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _watched(HTTPSConnection)


POOLS = {"http": _Pool, "https": _TLSPool}


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOLS

    def proxy_manager_for(self, proxy: str, **kwargs):
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS proxies bring their own pools
            manager.pool_classes_by_scheme = POOLS
        return manager


class _Retry(Retry):
    """Waits between attempts (backoff, or a server's Retry-After) end at the active deadline."""

    def _capped(self, seconds: float | None) -> float | None:
        deadline = _deadline()
        return seconds if deadline is None or seconds is None else max(0.0, min(seconds, deadline.remaining()))

    def get_backoff_time(self) -> float:
        return self._capped(super().get_backoff_time()) or 0.0

    def get_retry_after(self, response):
        return self._capped(super().get_retry_after(response))


def new_session(agent: str, retries: int = 5, backoff: float = 1.0) -> requests.Session:
    """A session whose GETs are retried with exponential backoff on connection errors and 5xx answers."""
    session = requests.Session()
    retry = _Retry(total=retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                   allowed_methods=frozenset({"GET"}), raise_on_status=False)
    for scheme in ("http://", "https://"):
        session.mount(scheme, _Adapter(max_retries=retry))
    session.headers.update({"User-Agent": f"handwriting-pipeline/{agent}", "Accept-Encoding": "identity"})
    return session


def size(n: float) -> str:
    """A byte count for messages: 10.0 GiB, 512.0 MiB."""
    units = ((30, "GiB"), (20, "MiB"), (10, "KiB"), (0, "B"))
    return next(f"{n / 2**e:.1f} {unit}" for e, unit in units if n >= 2**e or not e)


@contextmanager
def limited_get(session: requests.Session, url: str, timeout: tuple[float, float], deadline_s: float,
                max_bytes: int, chunk: int = 1 << 20) -> Iterator[tuple[requests.Response, Iterator[bytes]]]:
    """GET `url` streamed: (response, its body in chunks). Raises TransferStopped when the whole transfer takes
    more than `deadline_s`, or the body is (or is announced as) larger than `max_bytes`."""
    late = f"the server had not sent it all after {deadline_s:g} s (the time limit for the whole download)"
    with Deadline(deadline_s) as deadline:
        try:
            with session.get(url, stream=True, timeout=timeout) as response:
                yield response, _limited(response, deadline, late, max_bytes, chunk)
        except requests.RequestException:
            if deadline.expired:
                raise TransferStopped(late) from None
            raise


def _limited(response: requests.Response, deadline: Deadline, late: str, max_bytes: int,
             chunk: int) -> Iterator[bytes]:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TransferStopped(f"the server announces {size(int(declared))}, more than the {size(max_bytes)} "
                              f"expected at most")
    received = 0
    for piece in response.iter_content(chunk):
        received += len(piece)
        if received > max_bytes:
            raise TransferStopped(f"the server sent more than the {size(max_bytes)} expected at most")
        if deadline.expired:
            break
        yield piece
    if deadline.expired:  # a socket shut at the deadline can read as a body that simply ended
        raise TransferStopped(late)
