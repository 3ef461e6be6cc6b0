"""The in-memory tree: Firebase's storage, array, server-value, ETag and query rules."""

from __future__ import annotations

import threading

import pytest

from monitorkit.testing.rtdb_tree import (
    NULL_ETAG,
    EtagMismatch,
    RealtimeTree,
    RtdbError,
    key_order,
    parse_path,
    value_order,
)


def etag(tree: RealtimeTree, path: str) -> str:
    """The ETag a GET of `path` would carry."""
    return tree.read(path)[1]


def rejected(call, *args, **kwargs) -> RtdbError:
    with pytest.raises(RtdbError) as info:
        call(*args, **kwargs)
    return info.value


# --- keys and paths ---


def test_parse_path_splits_and_drops_empty_segments():
    assert parse_path("/users//ada/") == ("users", "ada")
    assert parse_path("") == ()
    assert parse_path(["users", "ada"]) == ("users", "ada")


@pytest.mark.parametrize("key", ["a.b", "a$", "#", "a[0]", "b]", "tab\there", "del\x7f", "\x00"])
def test_forbidden_characters_in_keys_are_400(key):
    assert rejected(parse_path, [key]).status == 400


def test_an_encoded_slash_inside_a_key_is_refused_not_split():
    assert rejected(parse_path, ["a/b"]).status == 400


def test_keys_may_hold_768_bytes_of_utf8_and_no_more():
    assert parse_path(["é" * 384]) == ("é" * 384,)  # 768 bytes
    assert rejected(parse_path, ["é" * 384 + "x"]).status == 400


def test_paths_must_have_fewer_than_32_levels():
    assert len(parse_path("/".join(["k"] * 31))) == 31
    assert rejected(parse_path, "/".join(["k"] * 32)).status == 400


def test_key_order_puts_32_bit_integers_first_numerically():
    keys = ["b", "10", "-3", "2", "a", "2147483648", "007", "0"]
    assert sorted(keys, key=key_order) == ["-3", "0", "2", "10", "007", "2147483648", "a", "b"]


def test_value_order_is_null_false_true_numbers_strings_objects():
    values = [{"x": 1}, "b", "a", 10, 1.5, True, False, None]
    assert sorted(values, key=value_order) == [None, False, True, 1.5, 10, "a", "b", {"x": 1}]


# --- writes ---


def test_set_get_and_null_deletes():
    tree = RealtimeTree()
    assert tree.set("users/ada", {"name": "Ada", "age": None}) == {"name": "Ada"}
    assert tree.get("users/ada/name") == "Ada"
    tree.set("users/ada/name", None)
    assert tree.get() is None


def test_empty_objects_vanish_and_take_empty_parents_with_them():
    tree = RealtimeTree({"a": {"b": {"c": 1}}, "keep": 1})
    tree.delete("a/b/c")
    assert tree.get() == {"keep": 1}
    assert tree.set("x", {"y": {}}) is None
    assert tree.get("x") is None


def test_writing_below_a_primitive_replaces_it_with_an_object():
    tree = RealtimeTree({"a": 5})
    tree.set("a/b", 1)
    assert tree.get() == {"a": {"b": 1}}


def test_root_may_hold_a_primitive():
    tree = RealtimeTree()
    tree.set("", 42)
    assert tree.get() == 42


def test_whole_floats_come_back_as_integers():
    tree = RealtimeTree()
    assert tree.set("n", 2.0) == 2 and isinstance(tree.get("n"), int)
    assert tree.set("n", 2.5) == 2.5


def test_non_finite_numbers_are_refused():
    assert rejected(RealtimeTree().set, "n", float("nan")).status == 400


# --- arrays ---


def test_arrays_are_stored_with_integer_keys_and_returned_as_arrays():
    tree = RealtimeTree()
    tree.set("list", ["a", "b", "c"])
    assert tree.get("list") == ["a", "b", "c"]
    assert tree.export() == {"list": {"0": "a", "1": "b", "2": "c"}}


def test_sparse_integer_keys_are_an_array_when_more_than_half_are_present():
    tree = RealtimeTree({"s": {"0": "a", "1": "b", "3": "d"}})
    assert tree.get("s") == ["a", "b", None, "d"]


def test_integer_keys_with_half_or_fewer_present_stay_an_object():
    tree = RealtimeTree({"s": {"0": "a", "3": "d"}})
    assert tree.get("s") == {"0": "a", "3": "d"}


@pytest.mark.parametrize("keys", [["0", "x"], ["00", "1"], ["-1", "0"]])
def test_non_array_keys_keep_an_object(keys):
    assert isinstance(RealtimeTree({"s": dict.fromkeys(keys, 1)}).get("s"), dict)


def test_nulls_inside_a_written_array_leave_holes():
    tree = RealtimeTree()
    tree.set("l", ["a", None, "c"])
    assert tree.export() == {"l": {"0": "a", "2": "c"}}
    assert tree.get("l") == ["a", None, "c"]


# --- server values ---


def test_timestamp_server_value_uses_the_server_clock():
    tree = RealtimeTree(clock=lambda: 1700000000.123)
    assert tree.set("t", {"at": {".sv": "timestamp"}}) == {"at": 1700000000123}


def test_increment_adds_to_the_current_number():
    tree = RealtimeTree({"n": 40})
    assert tree.set("n", {".sv": {"increment": 2}}) == 42
    assert tree.set("n", {".sv": {"increment": -0.5}}) == 41.5


def test_increment_on_a_missing_or_non_numeric_node_sets_the_delta():
    tree = RealtimeTree({"s": "text", "b": True})
    tree.update(
        "",
        {
            "missing/deep": {".sv": {"increment": 3}},
            "s": {".sv": {"increment": 1}},
            "b": {".sv": {"increment": 1}},
        },
    )
    assert tree.get() == {"b": 1, "missing": {"deep": 3}, "s": 1}


@pytest.mark.parametrize(
    "value",
    [
        {".sv": "now"},
        {".sv": {"increment": "1"}},
        {".sv": {"increment": True}},
        {".sv": {"decrement": 1}},
        {".sv": "timestamp", "extra": 1},
    ],
)
def test_unknown_or_malformed_server_values_are_400_and_write_nothing(value):
    tree = RealtimeTree({"keep": 1})
    assert rejected(tree.set, "x", {"v": value}).status == 400
    assert tree.get() == {"keep": 1}


def test_priority_wrappers_are_accepted_and_priorities_dropped():
    tree = RealtimeTree()
    tree.set("a", {".value": 3, ".priority": 1})
    tree.set("b", {"x": 1, ".priority": 2})
    assert tree.get() == {"a": 3, "b": {"x": 1}}


# --- validation of written data ---


def test_invalid_keys_in_data_are_400_and_write_nothing():
    tree = RealtimeTree()
    assert rejected(tree.set, "a", {"ok": 1, "bad.key": 2}).status == 400
    assert tree.get() is None


@pytest.mark.parametrize(
    "data",
    [
        {"": 1},  # an empty key: parse_path drops empty segments, so only data can hold one
        {".value": 1, "other": 2},  # .value may only be paired with .priority
        {"a": {1, 2}},  # not JSON: only reachable from Python, never from a REST body
    ],
)
def test_data_firebase_refuses_is_400_and_writes_nothing(data):
    tree = RealtimeTree({"keep": 1})
    assert rejected(tree.set, "x", data).status == 400
    assert tree.get() == {"keep": 1}


def test_strings_may_hold_10_mb_and_no_more():
    tree = RealtimeTree()
    tree.set("s", "a" * (10 * 1024 * 1024))
    assert rejected(tree.set, "t", "é" * (5 * 1024 * 1024) + "a").status == 400
    assert sorted(tree.get()) == ["s"]


def test_written_data_counts_towards_the_depth_limit():
    tree = RealtimeTree()
    base = "/".join(["k"] * 30)
    tree.set(base, {"leaf": 1})  # the leaf sits at level 31
    assert rejected(tree.set, base, {"a": {"b": 1}}).status == 400


# --- multi-path update ---


def test_update_writes_named_children_and_keeps_the_rest():
    tree = RealtimeTree({"u": {"name": "Ada", "age": 36, "tags": {"x": 1, "y": 2}}})
    written = tree.update("u", {"age": 37, "tags": {"z": 3}, "name": None})
    assert written == {"age": 37, "tags": {"z": 3}, "name": None}
    assert tree.get("u") == {"age": 37, "tags": {"z": 3}}


def test_update_keys_may_be_paths():
    tree = RealtimeTree({"a": {"b": 1, "c": 2}})
    tree.update("", {"a/b": 10, "d/e/f": True})
    assert tree.get() == {"a": {"b": 10, "c": 2}, "d": {"e": {"f": True}}}


def test_update_is_all_or_nothing():
    tree = RealtimeTree({"a": 1})
    assert rejected(tree.update, "", {"a": 2, "b/c#": 3}).status == 400
    assert rejected(tree.update, "", {"a": 2, "b": {".sv": "bogus"}}).status == 400
    assert tree.get() == {"a": 1}


def test_update_paths_count_the_base_path_towards_the_depth_limit():
    base = "/".join(["k"] * 20)
    tree = RealtimeTree()
    tree.update(base, {"/".join(["c"] * 11): 1})  # 31 levels
    assert rejected(tree.update, base, {"/".join(["c"] * 12): None}).status == 400


def test_update_paths_must_not_contain_each_other():
    assert rejected(RealtimeTree().update, "", {"a": {"b": 1}, "a/b/c": 2}).status == 400


@pytest.mark.parametrize("patch", [[1, 2], "text", 5, {"": 1}])
def test_update_needs_an_object_naming_children(patch):
    assert rejected(RealtimeTree().update, "x", patch).status == 400


# --- ETags ---


def test_etags_follow_the_content():
    tree = RealtimeTree({"a": {"x": 1, "y": [1, 2]}})
    first = etag(tree, "a")
    assert first == etag(RealtimeTree({"a": {"y": {"0": 1, "1": 2}, "x": 1}}), "a")
    tree.set("a/x", 2)
    assert etag(tree, "a") != first
    assert etag(tree, "missing") == NULL_ETAG


def test_if_match_writes_on_a_matching_etag():
    tree = RealtimeTree({"n": 1})
    tree.set("n", 2, if_match=etag(tree, "n"))
    tree.set("new", 1, if_match=NULL_ETAG)
    assert tree.get() == {"n": 2, "new": 1}


def test_if_match_mismatch_reports_current_etag_and_value_and_writes_nothing():
    tree = RealtimeTree({"n": {"v": 1}})
    with pytest.raises(EtagMismatch) as info:
        tree.set("n", 5, if_match="stale")
    assert (info.value.status, info.value.value, info.value.etag) == (
        412,
        {"v": 1},
        etag(tree, "n"),
    )
    with pytest.raises(EtagMismatch):
        tree.delete("n", if_match="stale")
    assert tree.get("n") == {"v": 1}


# --- queries ---

SCORES = {"ada": {"score": 3}, "bob": {"score": 1}, "cy": {"score": "x"}, "dee": {}, "eve": 7}


def query(data, **params):
    return RealtimeTree({"d": data}).get("d", {k: str(v) for k, v in params.items()})


def test_shallow_truncates_children_to_true():
    assert query({"a": {"x": 1}, "b": 2}, shallow="true") == {"a": True, "b": True}
    assert query("leaf", shallow="true") == "leaf"


def test_order_by_key_with_limits():
    data = {"b": 1, "10": 1, "2": 1, "a": 1}
    assert list(query(data, orderBy='"$key"', limitToFirst=2)) == ["2", "10"]
    assert list(query(data, orderBy='"$key"', limitToLast=2)) == ["a", "b"]
    assert query(data, orderBy='"$key"', limitToLast=0) is None


def test_order_by_key_with_range():
    data = dict.fromkeys(["a", "b", "c", "d"], 1)
    assert list(query(data, orderBy='"$key"', startAt='"b"', endAt='"c"')) == ["b", "c"]
    assert list(query(data, orderBy='"$key"', equalTo='"d"')) == ["d"]


def test_order_by_value_uses_type_order_then_key():
    data = {"s": "str", "n2": 2, "n1": 1, "t": True, "f": False, "o": {"x": 1}, "n1b": 1}
    assert list(query(data, orderBy='"$value"')) == ["f", "t", "n1", "n1b", "n2", "s", "o"]
    assert query(data, orderBy='"$value"', startAt="1", endAt="2") == {"n1": 1, "n1b": 1, "n2": 2}
    assert query(data, orderBy='"$value"', equalTo="true") == {"t": True}


def test_order_by_child_treats_missing_children_as_null():
    # "dee" is an empty object, so it does not exist; "eve" has no "score" child: null, first.
    assert list(query(SCORES, orderBy='"score"')) == ["eve", "bob", "ada", "cy"]
    assert list(query(SCORES, orderBy='"score"', limitToFirst=2)) == ["eve", "bob"]
    assert query(SCORES, orderBy='"score"', startAt="2") == {
        "ada": {"score": 3},
        "cy": {"score": "x"},
    }


def test_order_by_nested_child_path():
    data = {"a": {"m": {"n": 2}}, "b": {"m": {"n": 1}}}
    assert list(query(data, orderBy='"m/n"', limitToFirst=1)) == ["b"]


def test_order_by_priority_acts_like_no_priority():
    assert list(query({"b": 1, "a": 2}, orderBy='"$priority"')) == ["a", "b"]


def test_query_results_are_objects_even_for_arrays():
    assert query(["a", "b", "c"], orderBy='"$key"', limitToFirst=2) == {"0": "a", "1": "b"}


@pytest.mark.parametrize(
    "params",
    [
        {"limitToFirst": "1"},
        {"startAt": "1"},
        {"orderBy": "$key"},
        {"orderBy": '"$bogus"'},
        {"orderBy": "5"},
        {"orderBy": '"a.b"'},
        {"orderBy": '"$key"', "limitToFirst": "-1"},
        {"orderBy": '"$key"', "limitToFirst": "x"},
        {"orderBy": '"$key"', "limitToFirst": "1", "limitToLast": "1"},
        {"orderBy": '"$key"', "startAt": "1"},
        {"orderBy": '"$value"', "startAt": "not json"},
        {"orderBy": '"$value"', "startAt": "[1]"},
        {"orderBy": '"$value"', "equalTo": "1", "endAt": "2"},
        {"orderBy": '"$key"', "shallow": "true"},
        {"shallow": "yes"},
    ],
)
def test_bad_queries_are_400(params):
    assert rejected(RealtimeTree({"a": 1}).get, "", params).status == 400


# --- concurrency ---


def test_concurrent_increments_are_atomic():
    tree = RealtimeTree()

    def bump():
        for _ in range(200):
            tree.set("n", {".sv": {"increment": 1}})

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tree.get("n") == 1600
