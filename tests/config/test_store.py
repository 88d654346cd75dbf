"""ConfigStore: atomic batches, resource versions, change events, persistence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.config.store import ChangeEvent, ConfigStore, NotFoundError, StoreError


def vs(
    name: str, host: str = "reviews", subset: str = "v1", namespace: str = "default"
) -> Resource:
    text = f"""\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  hosts: [{host}]
  http:
  - route:
    - destination: {{host: {host}, subset: {subset}}}
"""
    result = load_text(text, "vs.yaml")
    assert result.ok, result.problems
    return result.resources[0]


def test_apply_create_configure_unchanged_and_versions() -> None:
    store = ConfigStore()
    events: list[list[ChangeEvent]] = []
    store.subscribe(lambda batch: events.append(list(batch)))

    out = store.apply([vs("a"), vs("b")])
    assert [o.outcome for o in out] == ["created", "created"]
    assert store.revision == 1
    assert store.get("VirtualService", "default", "a").meta.resource_version == "1"  # type: ignore[union-attr]

    out = store.apply([vs("a"), vs("b", subset="v2")])
    assert [o.outcome for o in out] == ["unchanged", "configured"]
    b = store.get("VirtualService", "default", "b")
    assert b is not None and b.meta.resource_version == "2" and b.meta.generation == 2
    assert [[e.type for e in batch] for batch in events] == [["ADDED", "ADDED"], ["MODIFIED"]]
    assert (
        events[1][0].old is not None
        and events[1][0].old.spec.http[0].route[0].destination.subset == "v1"
    )

    assert store.apply([vs("a")])[0].outcome == "unchanged"
    assert len(events) == 2, "an unchanged apply emits nothing"


def test_batch_with_duplicate_is_rejected_whole() -> None:
    store = ConfigStore()
    with pytest.raises(StoreError, match="more than once"):
        store.apply([vs("a"), vs("c"), vs("a", subset="v2")])
    assert len(store) == 0 and store.revision == 0


def test_delete_is_all_or_nothing() -> None:
    store = ConfigStore()
    store.apply([vs("a"), vs("b")])
    with pytest.raises(NotFoundError, match="VirtualService default/zzz"):
        store.delete([("VirtualService", "default", "a"), ("VirtualService", "default", "zzz")])
    assert len(store) == 2
    out = store.delete(
        [("VirtualService", "default", "a"), ("VirtualService", "default", "zzz")],
        ignore_not_found=True,
    )
    assert [str(o) for o in out] == ["virtualservice/a deleted (namespace default)"]
    assert [r.name for r in store.list()] == ["b"]


def test_list_filters() -> None:
    store = ConfigStore()
    store.apply([vs("a"), vs("b", namespace="other")])
    assert [r.name for r in store.list(namespace="other")] == ["b"]
    assert [r.name for r in store.list(kind="VirtualService")] == ["a", "b"]
    assert store.list(kind="Gateway") == []


def test_persistence_survives_restart(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    store.apply([vs("a"), vs("b", subset="v3")])
    store.delete([("VirtualService", "default", "a")])
    state = tmp_path / "config.json"
    assert oct(state.stat().st_mode & 0o777) == "0o600"

    again = ConfigStore(tmp_path)
    assert again.revision == 2
    (b,) = again.list()
    assert b.name == "b" and b.spec.http[0].route[0].destination.subset == "v3"
    assert b.meta.resource_version == "1"
    assert not again.load_problems


def test_persist_failure_rolls_back_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConfigStore(tmp_path)
    store.apply([vs("a")])
    events: list[object] = []
    store.subscribe(events.append)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StoreError, match="disk full"):
        store.apply([vs("b"), vs("a", subset="v9")])
    monkeypatch.undo()
    assert [r.name for r in store.list()] == ["a"] and store.revision == 1 and not events
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"], "no temporary files left"
    assert json.loads((tmp_path / "config.json").read_text())["revision"] == 1


def test_persist_fsyncs_the_directory_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src: str, dst: str) -> None:
        calls.append("rename")
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    ConfigStore(tmp_path).apply([vs("a")])
    assert calls == ["fsync-file", "rename", "fsync-dir"]


def test_load_removes_temporary_files_a_killed_writer_left(tmp_path: Path) -> None:
    ConfigStore(tmp_path).apply([vs("a")])
    (tmp_path / ".config-abc123.json").write_text('{"revision": 9, "obj')  # torn write
    (tmp_path / "keep.txt").write_text("not ours")
    again = ConfigStore(tmp_path)
    assert [r.name for r in again.list()] == ["a"] and again.revision == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "keep.txt"]
