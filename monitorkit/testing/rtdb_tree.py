"""The in-memory JSON tree behind the local Realtime Database server.

The tree holds one namespace's data the way Firebase stores it, so that what a client reads back
is what Firebase would answer: arrays are kept as objects with integer keys and rendered as arrays
only by Firebase's rule, `null` deletes, empty objects do not exist, server values are resolved at
write time, and queries order children the documented way. Everything here is independent of HTTP,
so it can be tested directly and reused by the server for every namespace.

Stored nodes are never mutated: a write copies the dicts along its path and swaps the root under
one lock. A reader therefore always sees a whole, consistent tree, and a multi-path update that
fails validation leaves nothing half-applied.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_KEY_BYTES = 768
MAX_DEPTH = 32  # a path must have fewer levels than this, written data included
MAX_STRING_BYTES = 10 * 1024 * 1024
NULL_ETAG = "null_etag"
FORBIDDEN_KEY_CHARACTERS = frozenset(".$#[]/")

_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_INT32_KEY = re.compile(r"0|-?[1-9][0-9]{0,9}")
_INT32_RANGE = range(-(2**31), 2**31)
_FILTER_PARAMS = ("limitToFirst", "limitToLast", "startAt", "endAt", "equalTo")
_UNSET: Any = object()

Path = tuple[str, ...]


class RtdbError(Exception):
    """A request the database refuses, with the HTTP status Firebase would answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EtagMismatch(RtdbError):
    """An `if-match` write whose ETag is stale; carries what the 412 answer must show."""

    def __init__(self, etag: str, value: Any) -> None:
        super().__init__("ETag mismatch", status=412)
        self.etag = etag
        self.value = value


# --- keys and paths ------------------------------------------------------------------------


def validate_key(key: str) -> str:
    """Return `key` if Firebase accepts it as a child name, else raise a 400."""
    if not key:
        raise RtdbError("Invalid key: keys must not be empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise RtdbError(f"Invalid key: keys must be at most {MAX_KEY_BYTES} bytes of UTF-8")
    if any(ch in FORBIDDEN_KEY_CHARACTERS for ch in key):
        raise RtdbError(f"Invalid key {key!r}: keys must not contain . $ # [ ] or /")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise RtdbError(f"Invalid key {key!r}: keys must not contain ASCII control characters")
    return key


def parse_path(path: str | Sequence[str]) -> Path:
    """Split a slash path (or validate a sequence of keys) into a tuple of keys.

    Empty segments are dropped, as Firebase does with `a//b/`. A sequence is accepted so the
    server can pass segments it percent-decoded one by one: an encoded `/` must stay inside its
    key and be refused, not silently become a new level.
    """
    segments = path.split("/") if isinstance(path, str) else list(path)
    keys = tuple(validate_key(segment) for segment in segments if segment != "")
    if len(keys) >= MAX_DEPTH:
        raise RtdbError(f"Invalid path: paths must have fewer than {MAX_DEPTH} levels")
    return keys


def key_order(key: str) -> tuple[int, int, str]:
    """Sort key for child names: 32-bit integer keys first, numerically, then strings."""
    if _INT32_KEY.fullmatch(key) and int(key) in _INT32_RANGE:
        return (0, int(key), "")
    return (1, 0, key)


def value_order(value: Any) -> tuple[Any, ...]:
    """Sort key for values: null < false < true < numbers < strings < objects."""
    if value is None:
        return (0,)
    if value is False:
        return (1,)
    if value is True:
        return (2,)
    if isinstance(value, (int, float)):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    return (5,)


# --- writing: normalisation and server values -----------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _resolve_server_value(spec: Any, existing: Any, now_ms: int) -> int | float:
    """Return what `{".sv": spec}` stands for at a location currently holding `existing`."""
    if spec == "timestamp":
        return now_ms
    if isinstance(spec, dict) and list(spec) == ["increment"]:
        delta = spec["increment"]
        if not _is_number(delta):
            raise RtdbError("Invalid server value: increment needs a number")
        total: int | float = (existing + delta) if _is_number(existing) else delta
        return total
    raise RtdbError(f"Invalid server value: {json.dumps(spec)}")


def normalize(value: Any, existing: Any, level: int, now_ms: int) -> Any:
    """Turn written JSON into the stored form, or None when it stores nothing.

    Arrays become integer-keyed objects, nulls and empty objects disappear, whole-number floats
    become ints (Firebase numbers are doubles), server values are resolved against `existing`
    (the stored node at the same location), and keys and depth are validated. `level` is the
    number of keys above `value`, so a leaf deeper than Firebase allows is refused.
    """
    if isinstance(value, list):
        value = {str(index): item for index, item in enumerate(value)}
    if isinstance(value, dict):
        if ".sv" in value:
            if len(value) != 1:
                raise RtdbError("Invalid data: .sv must be the only key of its object")
            value = _resolve_server_value(value[".sv"], existing, now_ms)
        elif ".value" in value:
            if set(value) - {".value", ".priority"}:
                raise RtdbError("Invalid data: .value must only be combined with .priority")
            return normalize(value[".value"], existing, level, now_ms)
        else:
            return _normalize_object(value, existing, level, now_ms)
    if value is None:
        return None
    if level >= MAX_DEPTH:
        raise RtdbError(f"Invalid data: paths must have fewer than {MAX_DEPTH} levels")
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RtdbError("Invalid data: numbers must be finite")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if len(value) * 4 > MAX_STRING_BYTES and len(value.encode()) > MAX_STRING_BYTES:
            raise RtdbError("Invalid data: strings must be at most 10 MB")
        return value
    raise RtdbError(f"Invalid data: {type(value).__name__} is not JSON")


def _normalize_object(
    value: dict[str, Any], existing: Any, level: int, now_ms: int
) -> dict[str, Any] | None:
    current = existing if isinstance(existing, dict) else {}
    stored = {}
    for key, child in value.items():
        if key == ".priority":
            continue  # priorities are accepted and dropped: this server orders them as absent
        validate_key(key)
        normalized = normalize(child, current.get(key), level + 1, now_ms)
        if normalized is not None:
            stored[key] = normalized
    return stored or None


def _node_at(root: Any, path: Path) -> Any:
    node = root
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _with_node(root: Any, path: Path, value: Any) -> Any:
    """Return a copy of `root` with `value` at `path`, copying only the dicts on the path.

    A None value deletes, and parents left empty by the deletion vanish with it.
    """
    if not path:
        return value
    children = dict(root) if isinstance(root, dict) else {}
    child = _with_node(children.get(path[0]), path[1:], value)
    if child is None:
        children.pop(path[0], None)
    else:
        children[path[0]] = child
    return children or None


# --- reading: rendering and ETags -------------------------------------------------------------


def _array_length(node: dict[str, Any]) -> int | None:
    """Return the array length if Firebase would render `node` as an array, else None."""
    if not all(_ARRAY_INDEX.fullmatch(key) for key in node):
        return None
    length = max(int(key) for key in node) + 1
    return length if len(node) * 2 > length else None


def render(node: Any) -> Any:
    """Return a stored node as Firebase answers it: fresh containers, arrays where due."""
    if not isinstance(node, dict):
        return node
    length = _array_length(node)
    if length is not None:
        return [render(node.get(str(index))) for index in range(length)]
    return {key: render(node[key]) for key in sorted(node, key=key_order)}


def etag_of(node: Any) -> str:
    """Return the ETag of a stored node: a hash of its canonical JSON, or `null_etag`."""
    if node is None:
        return NULL_ETAG
    canonical = json.dumps(render(node), sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha1(canonical.encode()).digest()).decode()


# --- queries ----------------------------------------------------------------------------------


def _json_param(params: Mapping[str, str], name: str) -> Any:
    try:
        return json.loads(params[name])
    except ValueError:
        raise RtdbError(f"{name} must be a valid JSON value") from None


def _limit_param(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    raw = params[name]
    if not re.fullmatch("[0-9]{1,9}", raw):
        raise RtdbError(f"{name} must be a non-negative integer")
    return int(raw)


@dataclass(frozen=True)
class Query:
    """The query parameters of a GET: ordering, range, limit or shallow."""

    order_by: str | None = None
    limit_to_first: int | None = None
    limit_to_last: int | None = None
    start_at: Any = _UNSET
    end_at: Any = _UNSET
    shallow: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Query:
        """Parse GET parameters, refusing combinations Firebase refuses with a 400."""
        filters = [name for name in _FILTER_PARAMS if name in params]
        shallow = params.get("shallow", "false")
        if shallow not in ("true", "false"):
            raise RtdbError("shallow must be true or false")
        if "orderBy" not in params:
            if filters:
                raise RtdbError("orderBy must be defined when other query parameters are defined")
            return cls(shallow=shallow == "true")
        if shallow == "true":
            raise RtdbError("shallow cannot be combined with orderBy")
        order_by = _json_param(params, "orderBy")
        if not isinstance(order_by, str) or not order_by:
            raise RtdbError("orderBy must be a valid JSON encoded path")
        if order_by.startswith("$") and order_by not in ("$key", "$value", "$priority"):
            raise RtdbError(f"orderBy {order_by!r} is not $key, $value, $priority or a child path")
        if not order_by.startswith("$"):
            order_by = "/".join(parse_path(order_by))
        if "limitToFirst" in params and "limitToLast" in params:
            raise RtdbError("limitToFirst and limitToLast cannot both be set")
        if "equalTo" in params and ("startAt" in params or "endAt" in params):
            raise RtdbError("equalTo cannot be combined with startAt or endAt")
        bounds = {
            name: _json_param(params, name)
            for name in ("startAt", "endAt", "equalTo")
            if name in params
        }
        for name, bound in bounds.items():
            if isinstance(bound, (dict, list)):
                raise RtdbError(f"{name} must be a JSON primitive")
            if order_by == "$key" and not isinstance(bound, str):
                raise RtdbError(f"{name} must be a string when ordering by $key")
        equal_to = bounds.get("equalTo", _UNSET)
        return cls(
            order_by=order_by,
            limit_to_first=_limit_param(params, "limitToFirst"),
            limit_to_last=_limit_param(params, "limitToLast"),
            start_at=bounds.get("startAt", equal_to),
            end_at=bounds.get("endAt", equal_to),
        )

    def apply(self, node: Any) -> Any:
        """Return the rendered answer to this query over a stored node."""
        if not isinstance(node, dict):
            return render(node)
        if self.shallow:
            return dict.fromkeys(sorted(node, key=key_order), True)
        if self.order_by is None:
            return render(node)
        index = self._index_function()
        order = key_order if self.order_by == "$key" else value_order
        entries = sorted(node.items(), key=lambda item: (order(index(item)), key_order(item[0])))
        if self.start_at is not _UNSET:
            entries = [e for e in entries if order(index(e)) >= order(self.start_at)]
        if self.end_at is not _UNSET:
            entries = [e for e in entries if order(index(e)) <= order(self.end_at)]
        if self.limit_to_first is not None:
            entries = entries[: self.limit_to_first]
        if self.limit_to_last is not None:
            entries = entries[len(entries) - self.limit_to_last :] if self.limit_to_last else []
        # The answer is an unordered object, never an array, and nothing at all when empty.
        return {key: render(child) for key, child in entries} or None

    def _index_function(self) -> Callable[[tuple[str, Any]], Any]:
        if self.order_by == "$key":
            return lambda item: item[0]
        if self.order_by == "$value":
            return lambda item: item[1]
        if self.order_by == "$priority":
            return lambda item: None  # priorities are not stored: every child has none
        child_path = tuple((self.order_by or "").split("/"))
        return lambda item: _node_at(item[1], child_path)


# --- the tree ---------------------------------------------------------------------------------


class RealtimeTree:
    """One namespace's data, safe to use from many request threads at once."""

    def __init__(self, data: Any = None, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._root = normalize(data, None, 0, self._now_ms())

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def get(self, path: str | Sequence[str] = "", params: Mapping[str, str] | None = None) -> Any:
        """Return the rendered value at `path`, filtered by GET query `params`."""
        return self.read(path, params)[0]

    def read(
        self, path: str | Sequence[str] = "", params: Mapping[str, str] | None = None
    ) -> tuple[Any, str]:
        """Return the (queried) value at `path` and the ETag of the whole, unqueried value."""
        keys = parse_path(path)
        query = Query.from_params(params or {})
        with self._lock:
            node = _node_at(self._root, keys)
        return query.apply(node), etag_of(node)

    def set(self, path: str | Sequence[str], data: Any, *, if_match: str | None = None) -> Any:
        """Replace the value at `path` (PUT) and return what was stored, rendered.

        With `if_match`, the write happens only if the current ETag equals it; otherwise
        EtagMismatch carries the current ETag and value, checked and written under one lock.
        """
        keys = parse_path(path)
        with self._lock:
            current = _node_at(self._root, keys)
            self._check_etag(current, if_match)
            stored = normalize(data, current, len(keys), self._now_ms())
            self._root = _with_node(self._root, keys, stored)
        return render(stored)

    def update(self, path: str | Sequence[str], patch: Any) -> dict[str, Any]:
        """Write each child named in `patch` (PATCH), all or nothing; return the patch written.

        Keys may hold slashes (multi-path update). Every key and value is validated before
        anything is applied, and no path of the patch may contain another.
        """
        keys = parse_path(path)
        if not isinstance(patch, dict):
            raise RtdbError("Invalid data: a PATCH body must be a JSON object")
        targets = {name: keys + self._patch_path(name, len(keys)) for name in patch}
        self._refuse_overlaps(targets)
        with self._lock:
            now_ms = self._now_ms()
            stored = {
                name: normalize(patch[name], _node_at(self._root, target), len(target), now_ms)
                for name, target in targets.items()
            }
            root = self._root
            for name, target in targets.items():
                root = _with_node(root, target, stored[name])
            self._root = root
        return {name: render(value) for name, value in stored.items()}

    def delete(self, path: str | Sequence[str], *, if_match: str | None = None) -> None:
        """Remove the value at `path`, conditionally like `set`."""
        self.set(path, None, if_match=if_match)

    def export(self) -> Any:
        """Return a deep copy of the stored form (integer-keyed objects), for persistence."""
        with self._lock:
            return copy.deepcopy(self._root)

    @staticmethod
    def _check_etag(current: Any, if_match: str | None) -> None:
        if if_match is not None and if_match != etag_of(current):
            raise EtagMismatch(etag_of(current), render(current))

    @staticmethod
    def _patch_path(name: str, base_depth: int) -> Path:
        keys = parse_path(name)
        if not keys:
            raise RtdbError("Invalid key: PATCH keys must name a child")
        if base_depth + len(keys) >= MAX_DEPTH:
            raise RtdbError(f"Invalid path: paths must have fewer than {MAX_DEPTH} levels")
        return keys

    @staticmethod
    def _refuse_overlaps(targets: Mapping[str, Path]) -> None:
        ordered = sorted(targets.items(), key=lambda item: item[1])
        for (name, target), (other, other_target) in itertools.pairwise(ordered):
            if other_target[: len(target)] == target:
                raise RtdbError(f"Invalid data: path {name!r} is an ancestor of {other!r}")
