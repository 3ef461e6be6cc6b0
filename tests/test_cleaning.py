"""What a run stores is storable everywhere (``monitorkit/cleaning.py``).

The properties are those of the stores themselves: strict JSON (SQLite's and PostgreSQL's JSON
columns refuse NaN), strict UTF-8 without NUL (PostgreSQL's text and jsonb), Firebase keys and
depth. They are checked on generated values, odd ones included, and on the known bad cases.
"""

from __future__ import annotations

import json
import logging
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitorkit import cleaning
from monitorkit.cleaning import (
    CIRCULAR,
    MAX_DEPTH,
    TOO_DEEP,
    Cleaner,
    error_message,
    is_valid_key,
)
from monitorkit.redaction import MASK
from monitorkit.redaction import redact as scrub

FORBIDDEN_IN_KEY = set(".$#[]/") | {chr(c) for c in range(32)} | {chr(127)}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(),  # surrogates and NUL included
    st.binary(max_size=10),
)
keys = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.tuples(st.text(max_size=5), st.integers()),
    st.sampled_from(["a.b", "a/b", "a_b", "a#b", "", ".", "1"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=30,
)


def assert_storable(value: Any, depth: int = 0) -> None:
    """Check what every store asks of one value, all the way down."""
    assert depth <= MAX_DEPTH
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            assert is_valid_key(key)
            assert not FORBIDDEN_IN_KEY & set(key)
            assert_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            assert_storable(item, depth + 1)
    elif isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, str):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogate
    else:
        assert value is None or isinstance(value, (bool, int))


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_cleaned_data_is_storable_everywhere(value):
    cleaned = Cleaner().data(value)
    assert_storable(cleaned)
    text = json.dumps(cleaned, allow_nan=False)  # strict JSON: what the JSON columns accept
    text.encode("utf-8")
    assert json.loads(text) == cleaned


class Lines(logging.Handler):
    """The ``monitorkit`` log lines of a block (caplog is not reset between generated inputs)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> list[str]:
        logging.getLogger("monitorkit").addHandler(self)
        return self.lines

    def __exit__(self, *exc_info: object) -> None:
        logging.getLogger("monitorkit").removeHandler(self)


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_cleaning_is_idempotent(value):
    once = Cleaner().data(value)
    with Lines() as lines:
        assert Cleaner().data(once) == once
    assert not lines  # a clean value has nothing to say


@settings(max_examples=200, deadline=None)
@given(mapping=st.dictionaries(st.text(alphabet="ab.$/#_~", max_size=4), st.integers()))
def test_keys_that_collide_in_firebase_all_survive(mapping):
    cleaned = Cleaner().data(mapping)
    assert sorted(cleaned.values()) == sorted(mapping.values())


def test_colliding_keys_get_distinct_names_and_one_log_line(caplog):
    with caplog.at_level(logging.WARNING, "monitorkit"):
        cleaned = Cleaner(label="cmd").data({"a.b": 1, "a/b": 2, "ok key": 3})
    assert cleaned == {"a_b": 1, "a_b~2": 2, "ok key": 3}
    (line,) = caplog.messages
    assert "'a/b'" in line and "'a_b~2'" in line


def test_a_valid_key_keeps_its_name_over_one_made_valid():
    assert Cleaner().data({"a.b": 1, "a_b": 2}) == {"a_b~2": 1, "a_b": 2}


def test_tuple_and_other_keys_are_written_as_text():
    assert Cleaner().data({("a", 1): 1, 2: 2, None: 3, True: 4}) == {
        "('a', 1)": 1,
        "2": 2,
        "null": 3,
        "true": 4,
    }


def test_non_finite_numbers_and_decimals():
    cleaned = Cleaner().data(
        [float("nan"), float("inf"), -math.inf, Decimal("1.10"), Decimal("NaN"), Fraction(1, 4)]
    )
    assert cleaned == ["NaN", "Infinity", "-Infinity", "1.10", "NaN", 0.25]


def test_an_integer_too_long_to_write_becomes_a_marker():
    huge = 10**5000  # Python refuses to write ints of more than 4300 digits
    assert Cleaner().data({"n": huge, "ok": 2**70}) == {"n": "<integer of 16610 bits>", "ok": 2**70}


def test_a_cycle_becomes_a_marker_and_shared_values_are_kept():
    shared = [1, 2]
    node: dict[str, Any] = {"a": shared, "b": shared}
    node["me"] = node
    assert Cleaner().data(node) == {"a": [1, 2], "b": [1, 2], "me": CIRCULAR}


def test_deep_nesting_is_cut_without_recursion_error():
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    cleaned = Cleaner().data(deep)
    levels = 0
    while isinstance(cleaned, list):
        (cleaned,), levels = cleaned, levels + 1
    assert (levels, cleaned) == (MAX_DEPTH, TOO_DEEP)


def test_too_many_values_are_cut():
    cleaned = Cleaner().data(list(range(cleaning.MAX_VALUES * 2)))
    assert cleaned[: cleaning.MAX_VALUES - 1] == list(range(cleaning.MAX_VALUES - 1))
    assert cleaned[-1] == cleaning.TOO_MANY


def test_objects_are_written_as_text_even_when_str_fails():
    class Bad:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert Cleaner().data({"x": Bad(), "y": {1, 3, 2}}) == {
        "x": "<unprintable Bad object>",
        "y": [1, 2, 3],
    }


@settings(max_examples=300, deadline=None)
@given(text=st.text(), limit=st.one_of(st.none(), st.integers(min_value=1, max_value=50)))
def test_text_is_storable_and_bounded(text, limit):
    cleaned = Cleaner().text(text, "message", limit)
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")
    if limit is not None:
        assert len(cleaned) <= limit


def test_nul_and_surrogates_become_the_replacement_character():
    assert Cleaner().text("a\x00b\udcffc", "message") == "a\ufffdb\ufffdc"
    assert Cleaner().text("x" * 300, "exception_type", 255) == "x" * 254 + "\u2026"


@pytest.mark.parametrize(
    "done,total,expected",
    [
        (float("nan"), 10, {"done": None, "total": 10}),
        (5, float("inf"), {"done": 5, "total": None}),
        (Decimal("2.5"), Decimal("10"), {"done": 2.5, "total": 10.0}),
        (True, None, {"done": 1, "total": None}),
        ("7", 10, {"done": None, "total": 10}),
        (None, 10, None),
    ],
)
def test_progress_is_finite_numbers_or_null(done, total, expected):
    assert Cleaner().progress(done, total) == expected


def test_one_log_line_per_odd_value_for_the_whole_run(caplog):
    cleaner = Cleaner(label="cmd")
    with caplog.at_level(logging.WARNING, "monitorkit"):
        for _ in range(5):  # every heartbeat, then the end
            cleaner.progress(float("nan"), 10)
            cleaner.data({"ratio": float("nan")})
        cleaner.data({"ratio": float("nan"), "other": float("inf")})
    assert len(caplog.records) == 3
    assert all("cmd" in message for message in caplog.messages)
    assert "NaN" in caplog.messages[1] and "Infinity" in caplog.messages[2]


def test_an_exception_whose_str_raises(caplog):
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    with caplog.at_level(logging.WARNING, "monitorkit"):
        assert error_message(Unprintable()) == "<exception str() failed>"
    assert len(caplog.records) == 1
    assert error_message(ValueError()) == "ValueError"
    assert error_message(ValueError("boom")) == "boom"


# --- secrets -------------------------------------------------------------------------------------

SPELLINGS = [
    lambda s: s,
    lambda s: quote(s, safe=""),
    lambda s: quote(s),
    lambda s: quote_plus(s),
    lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")),
    lambda s: repr(s)[1:-1],
    lambda s: ascii(s)[1:-1],
    lambda s: json.dumps(s)[1:-1],
    lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    lambda s: repr(s + "'\"")[1:-4],  # inside a repr that had to escape its quotes
]


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(min_size=6, max_size=30).filter(lambda s: "*" not in s and s.strip()),
    spelling=st.sampled_from(SPELLINGS),
)
def test_every_spelling_of_a_secret_is_scrubbed(secret, spelling):
    written = spelling(secret)
    assert written not in (scrub(f"<{written}>", [secret]) or "")


def test_a_secret_in_metadata_keys_and_values_is_scrubbed():
    cleaned = Cleaner(["s3cr3t+/"]).data({"s3cr3t+/": "x s3cr3t%2B%2F y", "k": repr("s3cr3t+/")})
    assert cleaned == {"********": "x ******** y", "k": "'********'"}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("postgres://u:PW@host/db", "postgres://u:********@host/db"),
        ("url=redis://:p@ss@h:6379 ok", "url=redis://:********@h:6379 ok"),
        ("dsn=redis://:p@ss@h:6379 ok", "dsn=******** ok"),  # a sensitive name: all of it
        ("'mysql+pymysql://app:x%40y@db:3306/app'", "'mysql+pymysql://app:********@db:3306/app'"),
        ("http://host:8080/path?a=b", "http://host:8080/path?a=b"),
        ("https://user@host/x", "https://user@host/x"),
    ],
)
def test_passwords_in_urls_are_masked_anywhere(text, expected):
    assert scrub(text) == expected


def test_a_password_in_a_url_never_reaches_a_log_line(caplog):
    logger = logging.getLogger("monitorkit")
    with caplog.at_level(logging.WARNING, "monitorkit"):
        logger.warning("could not reach %s", "postgres://u:PW1@h/db")
        try:
            raise ConnectionError("refused: postgres://u:PW2@h/db")
        except ConnectionError:
            logger.exception("failed postgres://u:PW3@h/db")
    assert "PW" not in caplog.text
    assert caplog.text.count(MASK) == 4  # the traceback shows the raise line and the error


@settings(max_examples=500, deadline=None)
@given(key=st.one_of(st.text(max_size=12), st.text(alphabet=st.characters(max_codepoint=127))))
def test_a_key_is_valid_exactly_when_it_holds_nothing_forbidden_and_fits(key):
    """``is_valid_key`` judges ASCII keys without its pattern: the same answer as the rule."""
    fits = len(key.encode("utf-8", "surrogatepass")) <= cleaning.MAX_KEY_BYTES
    surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in key)
    expected = bool(key) and fits and not surrogate and not FORBIDDEN_IN_KEY & set(key)
    assert is_valid_key(key) is expected


def test_each_ascii_character_in_a_key_is_judged_as_the_rule_says():
    judged = {chr(code): is_valid_key(f"job{chr(code)}x") for code in range(128)}
    assert {c for c, valid in judged.items() if not valid} == FORBIDDEN_IN_KEY
    assert is_valid_key("x" * cleaning.MAX_KEY_BYTES)
    assert not is_valid_key("x" * (cleaning.MAX_KEY_BYTES + 1))
