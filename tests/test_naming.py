"""Command ids, names and params (``monitorkit/naming.py``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitorkit import naming
from monitorkit.redaction import redact

FORBIDDEN = set(".$#[]/") | {chr(c) for c in range(32)} | {chr(127)}


def assert_valid_key(key: str) -> None:
    assert key
    assert not FORBIDDEN & set(key)
    assert len(key.encode("utf-8")) <= naming.MAX_KEY_BYTES
    assert key not in (".", "..")


def test_the_documented_example():
    options = naming.explicit_options({"verbosity": 2}, {"verbosity": 1})
    assert naming.command_id("test_command", options) == "test_command__verbosity_2"
    assert naming.format_params(options) == "verbosity=2"


def test_no_params_is_the_bare_name():
    assert naming.command_id("test_command", []) == "test_command"
    assert naming.format_params([]) == ""


def test_several_params_are_comma_separated_in_parser_order():
    defaults = {"verbosity": 1, "since": None, "limit": 10}
    options = naming.explicit_options({"limit": 5, "since": "2024-01-01", "verbosity": 2}, defaults)
    assert naming.format_params(options) == "verbosity=2,since=2024-01-01,limit=5"
    assert naming.command_id("imp", options) == "imp__verbosity_2__since_2024-01-01__limit_5"


def test_defaults_and_plumbing_options_are_left_out():
    options = {
        "verbosity": 1,
        "settings": "x.settings",
        "traceback": True,
        "no_color": False,
        "skip_checks": True,
        "disable_monitor": False,
        "pythonpath": None,
    }
    assert naming.explicit_options(options, {"verbosity": 1}) == []


def test_lists_are_space_separated():
    assert naming.format_params([("files", ["a.csv", "b.csv"])]) == "files=a.csv b.csv"
    assert naming.command_id("load", [("files", ["a.csv", "b.csv"])]) == "load__files_a_csv_b_csv"


@pytest.mark.parametrize("name", ["API_KEY", "token", "db_password", "client_secret", "signature"])
def test_sensitive_values_are_masked_in_params_and_left_out_of_the_id(name):
    options = [(name, "hunter2-value"), ("label", "x")]
    assert naming.format_params(options) == f"{name}=********,label=x"
    assert naming.command_id("cmd", options) == "cmd__label_x"
    assert naming.secret_values({name: "hunter2-value"}) == ["hunter2-value"]
    assert redact("it was hunter2-value!", ["hunter2-value"]) == "it was ********!"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("a.b", "a_b"),
        ("$x#y[z]", "_x_y_z_"),
        ("../../etc/passwd", "_etc_passwd"),
        ("line\nbreak\x7f", "line_break_"),
        ("with space", "with_space"),
    ],
)
def test_forbidden_characters_are_replaced(value, expected):
    assert naming.sanitize_key(value) == expected


@pytest.mark.parametrize("value", ["", ".", "..", "///", "\x00\x01"])
def test_a_key_is_never_empty(value):
    assert naming.sanitize_key(value) == "command"


def test_long_ids_are_shortened_deterministically_with_a_hash():
    first = naming.command_id("cmd", [("value", "é" * 2000 + "A")])
    second = naming.command_id("cmd", [("value", "é" * 2000 + "B")])
    assert_valid_key(first)
    assert first != second
    assert first == naming.command_id("cmd", [("value", "é" * 2000 + "A")])
    assert first.startswith("cmd__value_é")


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(min_size=0, max_size=50),
    options=st.lists(
        st.tuples(st.text(max_size=40), st.one_of(st.text(max_size=3000), st.integers())),
        max_size=5,
    ),
)
def test_every_id_is_a_valid_firebase_key(name, options):
    assert_valid_key(naming.command_id(name, options))


@pytest.mark.parametrize(
    "name,value",
    [
        ("credentials", "X"),
        ("google_credentials_file", "/etc/key.json"),
        ("sentry_dsn", "https://abc@o1.ingest.sentry.io/1"),
        ("database_url", "postgres://u:PW@host/db"),
        ("source", "redis://:PW@cache:6379/0"),
    ],
)
def test_credentials_dsns_and_urls_with_a_password_are_sensitive(name, value):
    options = [(name, value), ("label", "x")]
    assert naming.is_sensitive(name, value)
    assert naming.format_params(options) == f"{name}=********,label=x"
    assert naming.command_id("cmd", options) == "cmd__label_x"
    assert value in naming.secret_values({name: value})


def test_a_url_without_a_password_is_not_a_secret():
    assert not naming.is_sensitive("database_url", "postgres://host/db")
    assert naming.command_id("cmd", [("base_url", "https://x.org")]) == "cmd__base_url_https:_x_org"


def test_the_password_of_a_url_is_a_secret_raw_and_decoded():
    secrets = naming.secret_values({"database_url": "postgres://u:p%40ss@h/db"})
    assert {"p%40ss", "p@ss"} <= set(secrets)
    assert redact("auth failed for p@ss", secrets) == "auth failed for ********"


def test_positional_arguments_lose_their_url_passwords():
    args = ["postgres://u:PW@h/db"]
    assert "PW" not in naming.command_id("cmd", [], args)
    assert naming.format_params([], args) == "postgres://u:********@h/db"


@pytest.mark.parametrize("text", ["caf\udcff", "\udcff" * 800, "\ud800x"])
def test_bytes_that_are_not_utf8_in_argv_make_a_valid_key(text):
    key = naming.sanitize_key(text)
    assert_valid_key(key)
    key.encode("utf-8")
    assert "\ufffd" in key


def test_sanitize_key_keeps_two_long_non_utf8_ids_apart():
    assert naming.sanitize_key("\udcff" * 800 + "a") != naming.sanitize_key("\udcff" * 800 + "b")


def test_sanitize_key_without_the_pattern_agrees_with_it() -> None:
    """An id of plain printable ASCII skips the pattern; every other id goes through it, and
    both give what the pattern alone gives, for ids made of every kind of character."""
    import random
    import re

    from monitorkit.cleaning import shorten_key, storable_text

    forbidden = re.compile(r"[.$#\[\]/\x00-\x1f\x7f\s]+")
    pool = "abcXYZ019_-:=,+@!%&*()'\"<>?{}~^|\\.$#[]/ \t\n\x00\x1f\x7f\x85\xa0é☃\u2028\ud800"
    rng = random.Random(16)
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))
        expected = storable_text(forbidden.sub("_", text))
        if not expected.strip("_"):
            expected = "fallback"
        assert naming.sanitize_key(text, "fallback") == shorten_key(expected, original=text), repr(
            text
        )


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("shell", ["dumpdata", "shell"], True),
        ("shell_plus", ["shell"], False),
        ("import_orders", ["import_*"], True),
        ("Import_orders", ["import_*"], False),  # case-sensitive, as command names are
        ("sync1", ["sync[0-9]"], True),
        ("sync", ["sync?"], False),
        ("anything", [], False),
    ],
)
def test_matches_any_is_fnmatchcase_without_compiling_plain_names(
    name: str, patterns: list[str], expected: bool
) -> None:
    from fnmatch import fnmatchcase

    assert naming.matches_any(name, patterns) is expected
    assert expected is any(fnmatchcase(name, p) for p in patterns)
