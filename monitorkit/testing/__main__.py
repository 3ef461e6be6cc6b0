"""Run the local Realtime Database server in the foreground until SIGINT or SIGTERM.

    python -m monitorkit.testing --host 127.0.0.1 --port 9000 [--secret S] [--persist FILE]
                                 [--latency SECONDS] [--fail-next N [--fail-status 503]
                                 [--retry-after SECONDS]] [--malformed-next N] [--hang]

The fault options are the server's fault injection (``rtdb_faults.py``) from the command line,
for trying a client or a deployed project against a failing database by hand: the first N
requests get an error status (``Retry-After`` too, if given), or a 200 whose body is not JSON,
or no answer at all while ``--hang`` holds them (until the server stops).

Point clients at it with FIREBASE_DATABASE_EMULATOR_HOST=host:port (firebase-admin) or use the
printed URL with `/<path>.json` for raw REST.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from monitorkit.testing.rtdb_server import RealtimeDatabaseServer


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m monitorkit.testing",
        description="Local Firebase Realtime Database REST server (emulator stand-in).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="port (default 9000, 0 = any)")
    parser.add_argument("--secret", help="require this secret (auth=, access_token= or Bearer)")
    parser.add_argument("--persist", metavar="FILE", help="load from and save to this JSON file")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="delay every answer"
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--fail-next",
        type=int,
        default=0,
        metavar="N",
        help="answer the first N requests with an error",
    )
    faults.add_argument(
        "--fail-status",
        type=int,
        default=503,
        metavar="STATUS",
        help="the status of those answers (default 503)",
    )
    faults.add_argument(
        "--retry-after", metavar="SECONDS", help="send this Retry-After header with those answers"
    )
    faults.add_argument(
        "--malformed-next",
        type=int,
        default=0,
        metavar="N",
        help="then answer N requests 200 with a body that is not JSON",
    )
    faults.add_argument("--hang", action="store_true", help="accept requests but never answer them")
    return parser


def check_faults(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse fault options that cannot mean anything, as argparse refuses a bad type."""
    if args.fail_next < 0 or args.malformed_next < 0:
        parser.error("--fail-next and --malformed-next take a count of 0 or more")
    if not 100 <= args.fail_status <= 599:
        parser.error(f"--fail-status {args.fail_status} is not an HTTP status (100-599)")
    if args.latency < 0:
        parser.error("--latency takes 0 seconds or more")


def inject_faults(server: RealtimeDatabaseServer, args: argparse.Namespace) -> None:
    """Queue the faults the command line asks for, in the order the requests will meet them."""
    server.set_latency(args.latency)
    if args.fail_next:
        headers = {"Retry-After": args.retry_after} if args.retry_after else None
        server.fail_next(args.fail_next, args.fail_status, headers=headers)
    if args.malformed_next:
        server.malformed_next(args.malformed_next)
    if args.hang:
        server.hang()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_faults(parser, args)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Set from another thread: the main thread, where the handler runs, may hold the
        # event's lock inside stop_requested.wait, and set() would wait for it forever.
        signal.signal(
            signum,
            lambda *_: threading.Thread(target=stop_requested.set, daemon=True).start(),
        )
    server = RealtimeDatabaseServer(args.host, args.port, args.secret, args.persist).start()
    inject_faults(server, args)
    print(
        f"Realtime Database server listening on {server.url} "
        f"(FIREBASE_DATABASE_EMULATOR_HOST={server.host_port})",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
