"""The sessions of monitorkit's HTTP clients, and the texts that may leave them.

Each client keeps its ``requests`` sessions in one :class:`Sessions`: made on first use (the
client's ``make`` mounts its retries with :func:`mount`), closed together, and dropped in a
forked child, whose requests on the parent's pooled connections would mix the two processes'
bytes on one socket. The live clients' secrets are known here, so urllib3's own log lines,
which show full URLs, are scrubbed of them (and of every secret shape) before any handler
sees them. :func:`reply_text` is what a server answered, safe for an error message.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from .. import forks, redaction

#: The most characters of a server's answer that an error message quotes.
REPLY_TEXT_LIMIT = 300


class Sessions:
    """One client's sessions, made by the ``make`` given to :meth:`get` on first use.

    ``secrets``, a method of the client, returns what the client may send and no text may show
    (a token, a webhook's path): urllib3's log lines are scrubbed of it while the client lives.
    It is held weakly, so the client and its sessions go as soon as the client is dropped.
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        self._secrets = weakref.WeakMethod(secrets)  # a bound method: no cycle via the registry
        self._made: tuple[requests.Session, ...] | None = None
        self._lock = threading.Lock()
        with _registry_lock:
            _live.add(self)
        _guard_urllib3_logging()

    def get(self, make: Callable[[], Sequence[requests.Session]]) -> requests.Session:
        """Return the session, made by ``make()`` (the first it returns) unless made already.

        What ``make`` raises propagates, and nothing is kept: the next call makes them anew.
        """
        with self._lock:
            if self._made is None:
                self._made = tuple(make())
            return self._made[0]

    def secrets(self) -> Iterable[str]:
        """Return the client's secrets (none once the client is gone)."""
        method = self._secrets()
        return method() if method is not None else ()

    def close(self) -> None:
        """Close every session made; the next :meth:`get` makes new ones."""
        with self._lock:
            made, self._made = self._made, None
        for session in made or ():
            session.close()

    def _forget(self) -> None:
        """In a forked child: a new lock, and no session of the parent's (dropped, not closed)."""
        self._lock = threading.Lock()
        self._made = None


def mount(session: requests.Session, retries: Retry) -> requests.Session:
    """Give ``session`` the retrying adapter, and credentials from the settings only.

    Without an ``auth`` of its own, ``requests`` would look up ``~/.netrc`` before every
    request and send any login it found for the host (over a configured ``Authorization``
    header, too): a credential nobody configured for monitorkit (and a file read and two
    imports on a short command's way out).
    """
    adapter = HTTPAdapter(max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = _settings_only
    return session


def _settings_only(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request  # each client puts its configured credential on the request itself


def reply_text(response: requests.Response, redact: Callable[[str], str]) -> str:
    """Return what the server answered (``""``: nothing), masked whole, then cut."""
    text = response.content.decode("utf-8", "replace").strip()
    return redact(text)[:REPLY_TEXT_LIMIT]


def redact(text: str) -> str:
    """Return ``text`` without any live client's secrets or any secret shape."""
    with _registry_lock:
        live = list(_live)
    return redaction.redact(text, [s for client in live for s in client.secrets()])


class _Urllib3UrlFilter(logging.Filter):
    """Scrub urllib3's log lines (they show full URLs) and quieten its retry warnings.

    urllib3 logs a WARNING for each connection retry, which an application's handlers would
    show as a problem; a monitorkit client logs its retries itself, or says once that the
    attempts failed, so urllib3's becomes DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if hasattr(record, "__urllib3-retry-warning"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


#: The clients' sessions alive in this process: their secrets, and a forked child drops them.
_live: weakref.WeakSet[Sessions] = weakref.WeakSet()
_registry_lock = threading.RLock()  # re-entrant: a log line may come from inside (a GC)
_filter_installed = False


def _guard_urllib3_logging() -> None:
    global _filter_installed
    with _registry_lock:
        if not _filter_installed:
            for name in ("urllib3.connectionpool", "urllib3.util.retry"):
                logging.getLogger(name).addFilter(_Urllib3UrlFilter())
            _filter_installed = True


def _forget_sessions_after_fork() -> None:
    """In a forked child: new locks, and no session of the parent's.

    The parent's pooled connections are the parent's: they are dropped, not closed (closing
    sends nothing, but what is the parent's is left alone); a child's own run makes its own.
    """
    global _registry_lock
    _registry_lock = threading.RLock()
    for sessions in list(_live):
        sessions._forget()


forks.hold_locks(
    lambda: [_registry_lock, *(sessions._lock for sessions in list(_live))],
    _forget_sessions_after_fork,
)
