"""Store and forward: the records a backend could not take in time wait here, on local disk.

When a write is still refused at its deadline (the flush bound), or the process is about to
end with records not yet delivered, each record goes into the spool directory
(``MONITORKIT_SPOOL_DIR``, by default a per-project directory under the system's temporary
directory): one small JSON file per run and reporter, written atomically (a temporary file,
then ``os.replace``), readable by its owner only. A newer state of the same run replaces an
older one and never the other way round, so the file always holds the newest state of that run.

The next monitored run of the project (on its sender's thread) delivers what waits here, through
``Reporter.deliver_spooled``; writes are idempotent by run id, so a process killed between
delivering a file and deleting it duplicates nothing. The spool is bounded
(``MONITORKIT_SPOOL_MAX_FILES``): past that, a record is dropped and the drop logged. A spool file
holds the record (already scrubbed of secrets) and the reporter's class path and run state, and
never a credential.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .record import RunRecord

if TYPE_CHECKING:
    from .conf import MonitorSettings
    from .reporters.base import Reporter

logger = logging.getLogger("monitorkit")

SUFFIX = ".json"
FORMAT_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def reporter_path(reporter: Reporter) -> str:
    """Return the dotted path of a reporter's class, how the spool names a backend."""
    cls = type(reporter)
    return f"{cls.__module__}.{cls.__qualname__}"


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


class Spool:
    """A directory of records waiting for their backend."""

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
            current = self.read(target)
            if current is not None and not newer(record, current.record):
                return True
            if current is None and self.count() >= self.max_files:
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
            self._write(target, {"reporter": path_name, "state": state, "record": record})
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
        try:
            entries = [
                entry
                for entry in os.scandir(self.directory)
                if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")
            ]
        except OSError:
            return []
        entries.sort(key=lambda entry: _mtime(entry.path))
        return [Path(entry.path) for entry in entries]

    def count(self) -> int:
        """Return how many records wait in the spool."""
        return len(self.files())

    def read(self, path: Path) -> SpooledRecord | None:
        """Return one file's content, or ``None`` if it is gone or unreadable (then logged)."""
        try:
            stamp = path.stat().st_mtime_ns
            data = json.loads(path.read_text(encoding="utf-8"))
            return SpooledRecord(
                path=path,
                reporter=str(data["reporter"]),
                record=RunRecord.from_dict(data["record"]),
                state=dict(data.get("state") or {}),
                stamp=stamp,
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.error("monitorkit: spool file %s is unreadable (%s); left in place", path, err)
            return None

    def remove(self, item: SpooledRecord) -> None:
        """Delete a delivered file, unless a newer state of the run replaced it meanwhile."""
        try:
            if item.path.stat().st_mtime_ns == item.stamp:
                item.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.error("monitorkit could not delete delivered spool file %s: %s", item.path, err)

    def discard(self, reporter: Reporter, record: RunRecord) -> None:
        """Forget a run's spooled record once a state at least as new was delivered."""
        target = self.file_for(reporter_path(reporter), record.run_id)
        current = self.read(target) if target.exists() else None
        if current is not None and newer(record, current.record):
            self.remove(current)

    def _write(self, target: Path, content: dict[str, Any]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        record: RunRecord = content["record"]
        payload = {
            "version": FORMAT_VERSION,
            "reporter": content["reporter"],
            "state": content["state"],
            "record": record.as_dict(),
        }
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str)
        fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def iter_waiting(spool: Spool, reporter: str | None = None) -> Iterator[SpooledRecord]:
    """Yield the waiting records (of one reporter class, if given), oldest first."""
    for path in spool.files():
        item = spool.read(path)
        if item is not None and (reporter is None or item.reporter == reporter):
            yield item
