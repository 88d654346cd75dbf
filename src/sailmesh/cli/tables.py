"""Plain aligned tables (kubectl style) for sailctl output."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import click


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    body = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]
    lines = ["   ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return lines


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    for line in format_table(headers, rows):
        click.echo(line)
