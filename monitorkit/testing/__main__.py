"""Run the local Realtime Database server in the foreground until SIGINT or SIGTERM.

    python -m monitorkit.testing --host 127.0.0.1 --port 9000 [--secret S] [--persist FILE]
                                 [--latency SECONDS]

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
    parser.add_argument("--latency", type=float, default=0.0, help="delay every answer (seconds)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    args = build_parser().parse_args(argv)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    server = RealtimeDatabaseServer(args.host, args.port, args.secret, args.persist).start()
    server.set_latency(args.latency)
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
