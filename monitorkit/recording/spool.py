"""Store and forward: the records a backend could not take in time wait here, on local disk.

When a write is still refused at its deadline (the flush bound), or the process is about to
end with records not yet delivered, each record goes into the spool directory
(``MONITORKIT_SPOOL_DIR``, by default a per-project directory in the user's cache directory):
one small JSON file per run and reporter, written atomically (a temporary file, then
``os.replace``), readable by its owner only. A newer state of the same run replaces an older
one and never the other way round, so the file always holds the newest state of that run.

What waits here is delivered into the project's store, so the spool trusts nothing it did not
make itself. The directory must be this user's own, with no access for group or others (it is
created so); one that is not is refused, once with a warning, and nothing is read from it or
written to it. Every file is opened without following a symbolic link and without blocking,
and read only if it is a regular file of this user's. A file names its reporter by class path,
but the class that delivers it is one the project configured under that name (the sender's own
reporter, the watcher's configured stores): a path is never imported from a file.

Two drains deliver what waits (``sender.py`` when a backend takes a write again, ``watch.py``
each cycle), both through :func:`deliverable` and :func:`deliver`. Writes are idempotent by run
id, so a process killed between delivering a file and deleting it duplicates nothing. The spool
is bounded (``MONITORKIT_SPOOL_MAX_FILES``): past that, a record is dropped and the drop logged.
A spool file holds the record (already scrubbed of secrets) and the reporter's class path and
run state, and never a credential.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..record import RunRecord
from ..stores.base import current_path, reporter_path

if TYPE_CHECKING:
    from ..conf import MonitorSettings
    from ..stores.base import Reporter

logger = logging.getLogger("monitorkit")

SUFFIX = ".json"
FORMAT_VERSION = 1
#: A spool file is a few kB; anything much bigger was not written by monitorkit.
MAX_FILE_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
#: What this process already said about a refused directory or a skipped file: said once.
_said: set[tuple[str, str]] = set()

R = TypeVar("R")


@dataclass(frozen=True)
class SpooledRecord:
    """One file of the spool, read back."""

    path: Path
    reporter: str
    record: RunRecord
    state: dict[str, Any]
    stamp: int  # the file's mtime_ns when read: deleted only if still the same file


def newer(candidate: RunRecord, current: RunRecord) -> bool:
    """Return whether ``candidate`` is a newer state of the same run than ``current``.

    A finished record is newer than any unfinished one; among two of the same kind, the later
    ``latest`` wins (a tie goes to the candidate: it was made after).
    """
    if candidate.is_finished != current.is_finished:
        return candidate.is_finished
    if candidate.latest is None or current.latest is None:
        return True
    return candidate.latest >= current.latest


def ownership_problem(info: os.stat_result) -> str | None:
    """Return why a directory or file with this ``stat`` is not this user's private one."""
    uid = os.geteuid()
    if info.st_uid != uid:
        return f"it is owned by uid {info.st_uid}, not by this user (uid {uid})"
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode) and mode & 0o077:
        return f"group or others have access to it (mode {mode:04o}, it must be 0700)"
    return None


def _say_once(level: int, key: str, message: str, *args: Any) -> None:
    if (key, message) not in _said:
        _said.add((key, message))
        logger.log(level, message, *args)


class Spool:
    """A directory of records waiting for their backend, private to the user who runs them."""

    def __init__(self, directory: str | os.PathLike[str], max_files: int = 1000) -> None:
        self.directory = Path(directory)
        self.max_files = max_files

    @classmethod
    def for_settings(cls, settings: MonitorSettings) -> Spool:
        """Return the project's spool, as its settings name it."""
        return cls(settings.spool_dir, settings.spool_max_files)

    def file_for(self, reporter: str, run_id: str) -> Path:
        """Return the one file a run's record for one reporter lives in."""
        name = f"{_UNSAFE.sub('_', run_id)}.{_UNSAFE.sub('_', reporter.rsplit('.', 1)[-1])}"
        return self.directory / (name + SUFFIX)

    @contextlib.contextmanager
    def opened(self, create: bool = False) -> Iterator[int | None]:
        """Yield a descriptor of the directory once it passed the checks, else ``None``.

        Every file operation is relative to this descriptor, so the directory checked is the
        directory used, whatever is renamed meanwhile. A missing directory is made (mode 0700)
        only when ``create``; one that fails the checks is refused with one warning.
        """
        if create:
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.directory, 0o700)
        try:
            fd = os.open(self.directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            if create:
                raise
            yield None
            return
        except OSError as err:
            self._refuse("it is a symbolic link" if _is_link(self.directory) else str(err))
            yield None
            return
        try:
            refused = ownership_problem(os.fstat(fd))
            if refused is not None:
                self._refuse(refused)
                yield None
            else:
                yield fd
        finally:
            os.close(fd)

    def _refuse(self, problem: str) -> None:
        _say_once(
            logging.WARNING,
            str(self.directory),
            "monitorkit does not use the spool directory %s: %s. Nothing is read from it or "
            "written to it; a record the backend cannot take within the flush bound is lost "
            "until it is fixed (remove the directory and let monitorkit make it, or make it "
            "this user's own with mode 0700, or set MONITORKIT_SPOOL_DIR elsewhere)",
            self.directory,
            problem,
        )

    def put(self, reporter: Reporter, record: RunRecord, quiet: bool = False) -> bool:
        """Keep ``record`` for ``reporter`` unless a newer state of its run is kept already.

        Returns whether the spool now holds this record or a newer one of the same run. Never
        raises: a spool that cannot be written is logged, and the record is lost with that line.
        ``quiet`` logs nothing when it is kept (an expected case its caller has logged).
        """
        path_name = reporter_path(reporter)
        try:
            state = reporter.run_state(record.run_id)
        except Exception:  # a reporter's own bug costs only its state
            logger.exception("monitorkit: %s.run_state failed", path_name)
            state = {}
        target = self.file_for(path_name, record.run_id)
        try:
            with self.opened(create=True) as fd:
                if fd is None:
                    raise PermissionError("the directory was refused (see the warning above)")
                current = self._read(fd, target.name)
                if current is not None and not newer(record, current.record):
                    return True
                if current is None and len(self._names(fd)) >= self.max_files:
                    logger.error(
                        "monitorkit dropped the record of run %s (command %r): the spool %s "
                        "already holds %d files (MONITORKIT_SPOOL_MAX_FILES)",
                        record.run_id,
                        record.id,
                        self.directory,
                        self.max_files,
                    )
                    return False
                if current is not None and current.state and not state:
                    state = current.state  # keep what an earlier attempt learnt (a run number)
                self._write(fd, target.name, path_name, state, record)
        except OSError as err:
            logger.error(
                "monitorkit could not keep the record of run %s (command %r) in the spool "
                "%s: %s; it is lost",
                record.run_id,
                record.id,
                self.directory,
                err,
            )
            return False
        if quiet:
            return True
        logger.warning(
            "monitorkit kept the record of run %s (command %r, %s) in the spool %s; "
            "the next monitored run delivers it",
            record.run_id,
            record.id,
            record.status.value,
            target,
        )
        return True

    def files(self) -> list[Path]:
        """Return the waiting files, oldest first."""
        with self.opened() as fd:
            if fd is None:
                return []
            return [self.directory / name for name in self._names(fd)]

    def count(self) -> int:
        """Return how many records wait in the spool."""
        return len(self.files())

    def read(self, path: Path) -> SpooledRecord | None:
        """Return one file's content, or ``None`` if it is gone or unusable (then logged)."""
        with self.opened() as fd:
            return None if fd is None else self._read(fd, path.name)

    def waiting(self) -> Iterator[SpooledRecord]:
        """Yield what waits, oldest first: the regular files of this user's that read back."""
        with self.opened() as fd:
            if fd is None:
                return
            for name in self._names(fd):
                item = self._read(fd, name)
                if item is not None:
                    yield item

    def remove(self, item: SpooledRecord) -> None:
        """Delete a delivered file, unless a newer state of the run replaced it meanwhile."""
        try:
            with self.opened() as fd:
                if fd is None:
                    return
                name = item.path.name
                if os.stat(name, dir_fd=fd, follow_symlinks=False).st_mtime_ns == item.stamp:
                    os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.error("monitorkit could not delete delivered spool file %s: %s", item.path, err)

    def discard(self, reporter: Reporter, record: RunRecord) -> bool:
        """Forget a run's spooled record once a state at least as new was delivered.

        Returns whether the spool holds nothing newer of the run now. ``False``: it keeps a
        newer state (a start delivered after its run's finish was spooled), still to go.
        """
        target = self.file_for(reporter_path(reporter), record.run_id)
        current = self.read(target)
        if current is None:
            return True
        if newer(record, current.record):
            self.remove(current)
            return True
        return False

    # Everything below works relative to a directory descriptor that passed the checks.
    def _names(self, fd: int) -> list[str]:
        """Return the names of the waiting files, oldest first (non-regular ones reported)."""
        found: list[tuple[int, str]] = []
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
                        continue
                    info = entry.stat(follow_symlinks=False)
                    if not stat.S_ISREG(info.st_mode):
                        link = stat.S_ISLNK(info.st_mode)
                        self._skip(entry.name, _not_regular(link))
                        continue
                    found.append((info.st_mtime_ns, entry.name))
        except OSError:
            return []
        return [name for _, name in sorted(found)]

    def _read(self, fd: int, name: str) -> SpooledRecord | None:
        try:
            handle = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as err:
            self._skip(name, _not_regular(True) if _is_link(name, fd) else str(err))
            return None
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode):
                self._skip(name, _not_regular(False))
                return None
            problem = ownership_problem(info)
            if problem is not None or info.st_size > MAX_FILE_BYTES:
                self._skip(name, problem or f"it is larger than {MAX_FILE_BYTES} bytes")
                return None
            with os.fdopen(os.dup(handle), "rb") as stream:
                data = json.loads(stream.read(MAX_FILE_BYTES + 1).decode("utf-8"))
            return SpooledRecord(
                path=self.directory / name,
                reporter=current_path(str(data["reporter"])),
                record=RunRecord.from_dict(data["record"]),
                state=dict(data.get("state") or {}),
                stamp=info.st_mtime_ns,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            logger.error(
                "monitorkit: spool file %s is unreadable (%s); left in place",
                self.directory / name,
                err,
            )
            return None
        finally:
            os.close(handle)

    def _skip(self, name: str, why: str) -> None:
        _say_once(
            logging.ERROR,
            str(self.directory / name),
            "monitorkit skipped spool file %s: %s; left in place, never read",
            self.directory / name,
            why,
        )

    def _write(
        self, fd: int, name: str, reporter: str, state: dict[str, Any], record: RunRecord
    ) -> None:
        payload = {
            "version": FORMAT_VERSION,
            "reporter": reporter,
            "state": state,
            "record": record.as_dict(),
        }
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str)
        temporary = f".{os.urandom(8).hex()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        handle = os.open(temporary, flags, 0o600, dir_fd=fd)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=fd)
            raise


def _not_regular(link: bool) -> str:
    return "it is a symbolic link" if link else "it is not a regular file (a FIFO, a device...)"


def _is_link(name: str | os.PathLike[str], fd: int | None = None) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def iter_waiting(spool: Spool, reporter: str | None = None) -> Iterator[SpooledRecord]:
    """Yield the waiting records (of one reporter class, if given), oldest first."""
    for item in spool.waiting():
        if reporter is None or item.reporter == reporter:
            yield item


def deliverable(
    spool: Spool, reporters: Mapping[str, R], limit: int, *, report_others: bool = False
) -> list[tuple[R, SpooledRecord]]:
    """Return up to ``limit`` waiting records with the reporter that delivers each, oldest first.

    ``reporters`` maps class paths to what the drain configured under that name; a file naming
    any other is left where it is, for a drain that has its reporter, and never imported. The
    watcher, which has every store the project configures, reports such a file once
    (``report_others``): it was made for a reporter the project does not have, or one that only
    some command adds.
    """
    found: list[tuple[R, SpooledRecord]] = []
    for item in spool.waiting():
        reporter = reporters.get(item.reporter)
        if reporter is None:
            if report_others:
                _say_once(
                    logging.ERROR,
                    str(item.path),
                    "monitorkit left spooled run %s in %s: it names the reporter %r, which is "
                    "not one of the project's configured stores (%s); it is kept for a run "
                    "that has it, and never imported from the file",
                    item.record.run_id,
                    item.path,
                    item.reporter,
                    ", ".join(sorted(reporters)) or "none",
                )
            continue
        if len(found) < limit:
            found.append((reporter, item))
        elif not report_others:
            break
    return found


def deliver(spool: Spool, reporter: Reporter, item: SpooledRecord) -> bool:
    """Hand one spooled record to its reporter; delete its file once delivered.

    Returns whether it was delivered; a refusal is logged and the file stays for a later drain.
    """
    try:
        reporter.deliver_spooled(item.record, item.state)
    except Exception as exc:  # noqa: BLE001 - monitoring must never fail the command
        logger.error(
            "monitorkit could not deliver spooled run %s (command %r) to %s: %s; it stays in %s",
            item.record.run_id,
            item.record.id,
            reporter.describe(),
            reporter.redact(f"{type(exc).__name__}: {exc}"),
            item.path,
        )
        return False
    spool.remove(item)
    logger.info(
        "monitorkit delivered spooled run %s (command %r, %s) to %s",
        item.record.run_id,
        item.record.id,
        item.record.status.value,
        reporter.describe(),
    )
    return True
