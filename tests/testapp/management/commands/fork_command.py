import io
import multiprocessing
import os
import queue
import signal
import time

from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connections

from tests.testapp.twin import command_base

CHILD_TIMEOUT = 20


def close_and_count(results):
    """Django's advice for a fork: close what was inherited, then query on new connections."""
    connections.close_all()
    results.put(ContentType.objects.count())


def reuse_and_count(results):
    """Query on the connection inherited from the parent (the parent waits meanwhile)."""
    results.put(ContentType.objects.count())


def run_monitored(results):
    """Run a monitored command in the child: its own run, sender and heartbeat."""
    connections.close_all()
    call_command("query_command", "--label=forkchild", stdout=io.StringIO())
    results.put(ContentType.objects.count())


def pool_count(_):
    connections.close_all()
    return ContentType.objects.count()


def fork_directly():
    """``os.fork()`` itself: the child closes, queries and leaves with ``os._exit``."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            connections.close_all()
            ContentType.objects.count()
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return f"exited {os.waitstatus_to_exitcode(status)}"
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "hung"


class Command(command_base()):
    help = "Query, then fork children in every way a command does; each child queries too."

    def add_arguments(self, parser):
        parser.add_argument("--pool", type=int, default=2, help="workers of the Pool")

    def handle(self, *args, **options):
        expected = ContentType.objects.count()
        context = multiprocessing.get_context("fork")
        report = []
        # The reusing child first: a child that closes its inherited connection ends the
        # parent's session on PostgreSQL (psycopg says goodbye on the shared socket).
        for target in (reuse_and_count, close_and_count, close_and_count, run_monitored):
            results = context.Queue()
            child = context.Process(target=target, args=(results,))
            child.start()
            try:
                got = results.get(timeout=CHILD_TIMEOUT)
            except queue.Empty:
                got = "hung"
            child.join(CHILD_TIMEOUT)
            if child.exitcode is None:
                child.kill()
                child.join()
            report.append(f"{target.__name__}={got == expected}/{child.exitcode}")
        with context.Pool(options["pool"]) as pool:
            counts = pool.map_async(pool_count, range(2 * options["pool"])).get(CHILD_TIMEOUT)
        report.append(f"pool={counts == [expected] * len(counts)}")
        report.append(f"fork={fork_directly()}")
        connections.close_all()  # the children ended its session: the next run opens anew
        self.stdout.write(" ".join(report))
