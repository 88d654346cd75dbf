"""YAML documents of the seed documents (``../shared/seeds``), as written there, for tests that
apply them unchanged to a mesh."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sailmesh.config.yamlsource import read_text

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def seed_document(seed: str, kind: str, name: str) -> str:
    """The document ``kind``/``name`` of the seed file whose name starts with ``seed``, as YAML
    (its data as the seed writes it; comments are not kept)."""
    (path,) = SEEDS.glob(f"{seed}*.txt")
    text = path.read_text(encoding="utf-8")
    for block in _FENCE.finditer(text):
        docs, errors = read_text(block.group(2), path.name)
        if errors:
            continue
        for doc in docs:
            data: Any = doc.data
            found = isinstance(data, dict) and data.get("kind") == kind
            if found and (data.get("metadata") or {}).get("name") == name:
                return yaml.safe_dump(data, sort_keys=False)
    raise AssertionError(f"no {kind} {name} in seed {seed}")
