"""The outcome of a run: finished, or failed with the error a person needs to read."""

from __future__ import annotations

import traceback
from types import TracebackType

from ..cleaning import error_message
from ..record import Outcome, Status
from .base import WRAPPER_CODES, MonitorMixin


def exception_type_name(error: BaseException) -> str:
    """Return ``module.QualName`` of an exception's class, e.g. ``builtins.ValueError``."""
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"


def exit_code_of(error: BaseException) -> int:
    """Return the exit status the process gets when ``error`` ends ``manage.py``."""
    if isinstance(error, SystemExit):
        code = error.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    if isinstance(error, KeyboardInterrupt):
        return 130
    returncode = getattr(error, "returncode", None)  # CommandError(returncode=...)
    return returncode if isinstance(returncode, int) else 1


def _user_frames(error: BaseException) -> TracebackType | None:
    """Return the traceback without monitorkit's own wrapper frames (around execute, handle)."""
    kept = []
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code not in WRAPPER_CODES:
            kept.append(tb)
        tb = tb.tb_next
    chain: TracebackType | None = None
    for item in reversed(kept):
        chain = TracebackType(chain, item.tb_frame, item.tb_lasti, item.tb_lineno)
    return chain


class FailureCaptureMixin(MonitorMixin):
    """Turn how the call ended into ``FINISHED`` or ``FAILED`` with message and traceback.

    ``sys.exit(0)`` (or ``sys.exit()``) is a finish; any other exit status is a failure.
    """

    def monitor_outcome(self, error: BaseException | None) -> Outcome:
        """Return status, message, exit code, exception type and traceback of the call."""
        if error is None:
            return Outcome(Status.FINISHED, "Command finished", exit_code=0)
        code = exit_code_of(error)
        if isinstance(error, SystemExit):
            if code == 0:
                return Outcome(
                    Status.FINISHED, "Command finished (sys.exit with status 0)", exit_code=0
                )
            message = error.code if isinstance(error.code, str) else f"Exited with status {code}"
        else:
            message = error_message(error)
        try:
            text = "".join(traceback.format_exception(type(error), error, _user_frames(error)))
        except Exception as err:  # noqa: BLE001 - e.g. a __notes__ property of the user's that raises
            text = f"<the traceback could not be formatted: {type(err).__name__}>"
        # Whole: the run masks secrets in it, then cuts it to MONITORKIT_TRACEBACK_LIMIT.
        return Outcome(Status.FAILED, message, code, exception_type_name(error), text)
