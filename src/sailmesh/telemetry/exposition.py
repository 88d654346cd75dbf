"""The Prometheus text exposition format: parse what Envoy (or an app) serves, render ours.

In: text as Envoy's ``/stats/prometheus`` writes it (``# TYPE`` lines, then samples
``name{label="value",...} value``; histograms as ``_bucket{le=...}``, ``_sum`` and ``_count``).
Out: :class:`Family` values (a name, a type, the samples under it) and text again. Lines that
do not parse are skipped: a scrape shows what it can rather than nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]
_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Labels
    value: float

    def label(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.labels if k == key), default)


@dataclass
class Family:
    """A metric family: ``type`` is ``counter``, ``gauge``, ``histogram``, ``summary`` or
    ``untyped``; histogram samples keep their ``_bucket``/``_sum``/``_count`` names."""

    name: str
    type: str = "untyped"
    help: str = ""
    samples: list[Sample] = field(default_factory=list)


def parse(text: str) -> list[Family]:
    """The families of ``text``, in order of first appearance."""
    families: dict[str, Family] = {}
    types: dict[str, str] = {}
    helps: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP"):
                target = types if parts[1] == "TYPE" else helps
                target[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        sample = parse_sample(line)
        if sample is None:
            continue
        base = _family_name(sample.name, types)
        family = families.get(base)
        if family is None:
            family = families[base] = Family(base, types.get(base, "untyped"), helps.get(base, ""))
        family.samples.append(sample)
    return list(families.values())


def _family_name(sample_name: str, types: dict[str, str]) -> str:
    if sample_name in types:
        return sample_name
    for suffix in _SUFFIXES:
        base = sample_name.removesuffix(suffix)
        if base != sample_name and types.get(base) in ("histogram", "summary"):
            return base
    return sample_name


def parse_sample(line: str) -> Sample | None:
    """One sample line (``name{labels} value [timestamp]``); None if it does not parse."""
    brace = line.find("{")
    labels: list[tuple[str, str]] = []
    if brace < 0:
        parts = line.split()
        if len(parts) < 2:
            return None
        name, rest = parts[0], parts[1]
    else:
        name = line[:brace].strip()
        parsed = _labels(line, brace + 1)
        if parsed is None:
            return None
        labels, end = parsed
        rest = line[end:].split()[0] if line[end:].split() else ""
    value = _number(rest)
    if not name or value is None:
        return None
    return Sample(name, tuple(labels), value)


def _labels(line: str, i: int) -> tuple[list[tuple[str, str]], int] | None:
    out: list[tuple[str, str]] = []
    n = len(line)
    while i < n:
        while i < n and line[i] in " ,":
            i += 1
        if i < n and line[i] == "}":
            return out, i + 1
        eq = line.find("=", i)
        if eq < 0 or eq + 1 >= n or line[eq + 1] != '"':
            return None
        key = line[i:eq].strip()
        i, chars = eq + 2, []
        while i < n and line[i] != '"':
            if line[i] == "\\" and i + 1 < n:
                i += 1
                chars.append({"n": "\n", "\\": "\\", '"': '"'}.get(line[i], "\\" + line[i]))
            else:
                chars.append(line[i])
            i += 1
        if i >= n:
            return None
        out.append((key, "".join(chars)))
        i += 1
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_sample(sample: Sample) -> str:
    if not sample.labels:
        return f"{sample.name} {format_value(sample.value)}"
    labels = ",".join(f'{k}="{escape(v)}"' for k, v in sample.labels)
    return f"{sample.name}{{{labels}}} {format_value(sample.value)}"


def render(families: Iterable[Family]) -> str:
    """Text for ``families`` (a ``# HELP`` line when there is help, a ``# TYPE`` line)."""
    return "".join(_render_family(f) for f in families)


def _render_family(family: Family) -> str:
    lines: list[str] = []
    if family.help:
        lines.append(f"# HELP {family.name} {family.help}")
    lines.append(f"# TYPE {family.name} {family.type}")
    lines += [render_sample(s) for s in family.samples]
    return "\n".join(lines) + "\n"


def names(families: Iterable[Family]) -> Iterator[str]:
    for family in families:
        yield family.name
