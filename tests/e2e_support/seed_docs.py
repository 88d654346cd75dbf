"""The YAML of one object of the seed documents (``/work/shared/seeds``), as written there.

:func:`seed_yaml` finds a document by kind and name in the fenced YAML blocks of the seed
files, so end-to-end tests apply exactly what the seeds show.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def seed_yaml(kind: str, name: str) -> str:
    """The text of the seed document of ``kind`` named ``name`` (exactly one must exist)."""
    found: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        for block in FENCE.finditer(path.read_text(encoding="utf-8")):
            for text in re.split(r"^---\s*$", block.group(2), flags=re.M):
                try:
                    data = yaml.safe_load(text)
                except yaml.YAMLError:
                    continue
                if not isinstance(data, dict):
                    continue
                meta = data.get("metadata") or {}
                if data.get("kind") == kind and meta.get("name") == name:
                    found.append(text)
    assert len(found) == 1, f"{len(found)} seed documents {kind}/{name}"
    return found[0]
