"""Where the local Realtime Database server keeps its data: one tree a namespace, and a file.

`Namespaces` holds one `rtdb_tree.RealtimeTree` per namespace, created on first use;
`JsonFilePersistence` saves them all to one JSON file and loads them back, so that data can
survive a restart of the server. Kept apart from the REST protocol, which only reads and writes
trees and asks for a save after each write.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

from monitorkit.testing.rtdb_tree import RealtimeTree


class Namespaces:
    """The trees of all namespaces, created on first use."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._trees = {name: RealtimeTree(data) for name, data in (initial or {}).items()}

    def tree(self, name: str) -> RealtimeTree:
        """Return the tree of namespace `name`, creating an empty one if needed."""
        with self._lock:
            return self._trees.setdefault(name, RealtimeTree())

    def peek(self, name: str) -> RealtimeTree | None:
        """Return the tree of namespace `name` if it exists, without creating it."""
        with self._lock:
            return self._trees.get(name)

    def export(self) -> dict[str, Any]:
        """Return every non-empty namespace in stored form."""
        with self._lock:
            trees = dict(self._trees)
        exported = {name: tree.export() for name, tree in trees.items()}
        return {name: data for name, data in exported.items() if data is not None}


class JsonFilePersistence:
    """Keep all namespaces in one JSON file: `{"namespaces": {name: data}}`.

    Each save writes a temporary file next to the target and renames it over the target, so a
    crash never leaves a half-written file. Saves are serialised and each takes the latest state.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        """Return the saved namespaces, or none if the file does not exist yet."""
        try:
            with open(self.path, encoding="utf-8") as file:
                saved = json.load(file)
        except FileNotFoundError:
            return {}
        if not isinstance(saved, dict) or not isinstance(saved.get("namespaces"), dict):
            raise ValueError(f'{self.path}: expected {{"namespaces": {{name: data}}}}')
        namespaces: dict[str, Any] = saved["namespaces"]
        return namespaces

    def save(self, namespaces: Namespaces) -> None:
        """Write the current state of every namespace atomically."""
        with self._lock:
            payload = json.dumps(
                {"namespaces": namespaces.export()}, separators=(",", ":"), ensure_ascii=False
            ).encode()
            directory = os.path.dirname(os.path.abspath(self.path))
            fd, temp_path = tempfile.mkstemp(prefix=".rtdb-", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(payload)
                os.replace(temp_path, self.path)
            except BaseException:
                os.unlink(temp_path)
                raise
