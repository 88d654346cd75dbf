"""The README's "What is enforced today" section is the table's rendering (refreshed with
``SAILMESH_UPDATE_GOLDEN=1``), so the README never claims more than the table."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sailmesh.config.enforcement import NOT_ENFORCED, markdown_summary

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"(<!-- enforcement:begin[^\n]*-->\n)(.*?)(\n<!-- enforcement:end -->)", re.S)


def test_readme_section_matches_the_table() -> None:
    text = README.read_text(encoding="utf-8")
    found = BLOCK.search(text)
    assert found is not None, "README has no enforcement:begin/end block"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1":
        text = text[: found.start(2)] + markdown_summary() + text[found.end(2) :]
        README.write_text(text, encoding="utf-8")
        return
    assert found.group(2) == markdown_summary(), "run with SAILMESH_UPDATE_GOLDEN=1"


def test_readme_top_claims_no_kind_the_table_lists() -> None:
    """Before the section, the README may name unenforced kinds only as accepted YAML."""
    top = README.read_text(encoding="utf-8").split("## What is enforced today")[0]
    assert "accepts the same" in top and "not enforced" in top
    for kind in {e.kind for e in NOT_ENFORCED if e.whole_kind}:
        for claim in (f"{kind} works", f"{kind} is enforced", f"enforces {kind}"):
            assert claim not in top
