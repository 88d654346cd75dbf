"""The config store: the applied objects, their resource versions, change events, persistence.

Batches apply whole or not at all: the new state is computed aside, persisted (write to a
temporary file, fsync it, rename it over the state file, fsync the directory so the rename
itself survives a crash), and only then made current and announced to subscribers. A process
killed mid-write leaves at most a stray temporary file, which the next load removes.
Objects are keyed by (kind, namespace, name); API versions of one kind share an identity.
"""

from __future__ import annotations

import builtins
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sailmesh.config.diagnostics import Problem
from sailmesh.config.parse import parse_documents
from sailmesh.config.resource import Resource
from sailmesh.config.yamlsource import YamlDocument
from sailmesh.errors import ConfigError

Key = tuple[str, str, str]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Outcome = Literal["created", "configured", "unchanged", "deleted"]
STATE_FILE = "config.json"
_TEMP_PREFIX = ".config-"
_TEMP_SUFFIX = ".json"


class StoreError(ConfigError):
    """A batch could not be applied; nothing in it was applied."""


class NotFoundError(StoreError):
    pass


@dataclass(frozen=True)
class ChangeEvent:
    type: EventType
    resource: Resource
    old: Resource | None
    revision: int


@dataclass(frozen=True)
class ApplyOutcome:
    key: Key
    outcome: Outcome
    resource_version: str

    def __str__(self) -> str:
        kind, ns, name = self.key
        obj = f"{kind.lower()}/{name}"
        return f"{obj} {self.outcome}" + (f" (namespace {ns})" if ns else "")


Subscriber = Callable[[Sequence[ChangeEvent]], None]


def _content(resource: Resource) -> Any:
    """What makes two versions of an object the same for `unchanged`."""
    return (
        resource.api_version,
        resource.meta.labels,
        resource.meta.annotations,
        resource.body.model_dump(mode="json", exclude_none=True),
    )


class ConfigStore:
    """Thread-safe in-memory store with optional persistence under ``state_dir``."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Key, Resource] = {}
        self._revision = 0
        self._subscribers: list[Subscriber] = []
        self._state_file = state_dir / STATE_FILE if state_dir is not None else None
        self.load_problems: builtins.list[Problem] = []
        if self._state_file is not None:
            self._restore()

    # --- reads ---------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._revision

    def get(self, kind: str, namespace: str, name: str) -> Resource | None:
        return self._objects.get((kind, namespace, name))

    def list(
        self, kind: str | None = None, namespace: str | None = None
    ) -> builtins.list[Resource]:
        with self._lock:
            items = list(self._objects.values())
        return sorted(
            (
                r
                for r in items
                if (kind is None or r.kind == kind)
                and (namespace is None or r.namespace == namespace)
            ),
            key=lambda r: r.key,
        )

    def snapshot(self) -> tuple[int, builtins.list[Resource]]:
        """The revision and every object at that revision (read together), sorted by key."""
        with self._lock:
            revision, items = self._revision, list(self._objects.values())
        return revision, sorted(items, key=lambda r: r.key)

    def __len__(self) -> int:
        return len(self._objects)

    # --- writes --------------------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with each committed batch's events; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def apply(self, resources: Sequence[Resource]) -> builtins.list[ApplyOutcome]:
        """Create or update every object in the batch, or none of them."""
        with self._lock:
            keys = [r.key for r in resources]
            dupes = {k for k in keys if keys.count(k) > 1}
            if dupes:
                raise StoreError(
                    "the batch names the same object more than once: "
                    + ", ".join(f"{k} {ns}/{n}" for k, ns, n in sorted(dupes))
                )
            revision = self._revision + 1
            staged = dict(self._objects)
            events: builtins.list[ChangeEvent] = []
            outcomes: builtins.list[ApplyOutcome] = []
            for res in resources:
                old = staged.get(res.key)
                if old is not None and _content(old) == _content(res):
                    outcomes.append(
                        ApplyOutcome(res.key, "unchanged", old.meta.resource_version or "")
                    )
                    continue
                new = self._stamp(res, old, revision)
                staged[res.key] = new
                events.append(ChangeEvent("MODIFIED" if old else "ADDED", new, old, revision))
                outcomes.append(
                    ApplyOutcome(res.key, "configured" if old else "created", str(revision))
                )
            if events:
                self._commit(staged, revision, events)
            return outcomes

    def delete(
        self, keys: Iterable[Key], ignore_not_found: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Delete every named object, or none of them (unless ``ignore_not_found``)."""
        with self._lock:
            keys = list(dict.fromkeys(keys))
            missing = [k for k in keys if k not in self._objects]
            if missing and not ignore_not_found:
                raise NotFoundError(
                    "not found: "
                    + ", ".join(f"{k} {ns}/{n}".replace(" /", " ") for k, ns, n in missing)
                )
            revision = self._revision + 1
            staged = dict(self._objects)
            events = []
            outcomes = []
            for key in keys:
                old = staged.pop(key, None)
                if old is not None:
                    events.append(ChangeEvent("DELETED", old, old, revision))
                    outcomes.append(ApplyOutcome(key, "deleted", str(revision)))
            if events:
                self._commit(staged, revision, events)
            return outcomes

    @staticmethod
    def _stamp(res: Resource, old: Resource | None, revision: int) -> Resource:
        spec_changed = old is None or old.body != res.body
        generation = (old.meta.generation or 1) + (1 if spec_changed else 0) if old else 1
        meta = res.meta.model_copy(
            update={
                "resource_version": str(revision),
                "generation": generation,
                "creation_timestamp": old.meta.creation_timestamp
                if old
                else res.meta.creation_timestamp,
            }
        )
        # The YAML node tree (for line lookups while validating) is not kept: analysis and
        # validation read freshly loaded objects, and the tree is most of a stored object's
        # memory (and of the garbage collector's work). ``source`` keeps the file and line.
        return replace(res, meta=meta, document=None)

    def _commit(
        self, staged: dict[Key, Resource], revision: int, events: builtins.list[ChangeEvent]
    ) -> None:
        if self._state_file is not None:
            self._persist(staged, revision)
        self._objects = staged
        self._revision = revision
        for callback in list(self._subscribers):
            callback(events)

    # --- persistence ---------------------------------------------------------------------
    def _persist(self, objects: dict[Key, Resource], revision: int) -> None:
        assert self._state_file is not None
        directory = self._state_file.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {"revision": revision, "objects": [objects[k].to_dict() for k in sorted(objects)]}
        fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, separators=(",", ":"))
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._state_file)
            _fsync_directory(directory)
        except BaseException as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise StoreError(f"cannot persist config to {self._state_file}: {exc}") from exc

    def _restore(self) -> None:
        assert self._state_file is not None
        _remove_stale_temp_files(self._state_file.parent)
        if not self._state_file.exists():
            return
        try:
            payload = json.loads(self._state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read persisted config {self._state_file}: {exc}") from exc
        docs = [YamlDocument(obj, str(self._state_file), 1) for obj in payload.get("objects", [])]
        result = parse_documents(docs)
        self.load_problems = result.problems
        self._objects = {r.key: replace(r, document=None) for r in result.resources}
        self._revision = int(payload.get("revision", 0))


def _fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (its entry lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temp_files(directory: Path) -> None:
    """Temporary files a killed writer left behind: never renamed, so never part of the state."""
    if not directory.is_dir():
        return
    for stale in directory.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)
