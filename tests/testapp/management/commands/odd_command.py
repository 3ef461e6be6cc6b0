import time
from decimal import Decimal
from urllib.parse import quote, quote_plus

from tests.testapp.twin import command_base

CASES = [
    "plain",
    "str_raises",
    "nan_progress",
    "decimal_progress",
    "nan_metadata",
    "tuple_key",
    "circular",
    "deep",
    "colliding_keys",
    "secret_spellings",
    "url_fail",
]


class Unprintable(ValueError):
    def __str__(self):
        raise RuntimeError("no text for you")


def odd_metadata(case, options):
    if case == "nan_metadata":
        return {"ratio": float("nan"), "limits": [float("inf"), float("-inf")]}
    if case == "tuple_key":
        return {("shard", 1): "done", "rows": 3}
    if case == "circular":
        node = {"name": "root"}
        node["self"] = node
        return {"tree": node}
    if case == "deep":
        deep = {"leaf": 1}
        for _ in range(600):
            deep = {"d": deep}
        return {"deep": deep}
    if case == "colliding_keys":
        return {"a.b": 1, "a/b": 2}
    if case == "secret_spellings":
        token = options["token"]
        return {"encoded": quote(token, safe=""), "repr": repr(token), "ascii": ascii(token)}
    if options["database_url"]:
        return {"dsn": options["database_url"]}
    return {}


class Command(command_base()):
    help = "Meet monitoring with odd but legal input, the way --case says."

    def add_arguments(self, parser):
        parser.add_argument("--case", default="plain", choices=CASES)
        parser.add_argument("--label", default="")
        parser.add_argument("--token", default=None)
        parser.add_argument("--database-url", default=None)
        parser.add_argument("--credentials", default=None)

    def execute(self, *args, **options):
        self.odd_options = options  # the metadata hook runs before handle
        return super().execute(*args, **options)

    def get_monitor_metadata(self, **metadata):
        metadata = super().get_monitor_metadata(**metadata)
        options = getattr(self, "odd_options", None)
        if options:  # not as keywords: a tuple key is no keyword
            metadata.update(odd_metadata(options["case"], options))
        return metadata

    def handle(self, *args, **options):
        case = options["case"]
        self.stdout.write(f"case {case}, label {options['label']!a}")
        progress = getattr(self, "monitor_progress", lambda done, total=None: None)
        if case == "str_raises":
            raise Unprintable()
        if case in ("nan_progress", "decimal_progress"):
            for step in range(4):
                if case == "nan_progress":
                    progress(float("nan"), 4)
                else:
                    progress(Decimal(step) + Decimal("0.5"), Decimal(4))
                time.sleep(0.2)
        if case == "secret_spellings":
            token = options["token"]
            raise RuntimeError(
                f"encoded {quote(token, safe='')} plus {quote_plus(token)} repr {token!r}"
                f" ascii {token!a}"
            )
        if case == "url_fail":
            raise ConnectionError(f"could not connect to {options['database_url']}")
        self.stdout.write("done")
