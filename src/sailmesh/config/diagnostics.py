"""Problems found in configuration: where they are (file, line, object, field path) and how bad.

Validation returns values instead of raising: every check appends to a :class:`Report`, which
records many problems per object, each with a field path such as ``spec.http[0].route[1].weight``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Level(enum.IntEnum):
    """Severity, ordered so that thresholds compare with ``>=`` (Istio's analyzer levels)."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def title(self) -> str:
        return {Level.INFO: "Info", Level.WARNING: "Warning", Level.ERROR: "Error"}[self]

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown level {text!r}; use Info, Warning or Error") from None


@dataclass(frozen=True)
class Source:
    """Where a document came from: a file name (``-`` for stdin) and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ObjectRef:
    """``Kind namespace/name`` of the object a problem is about."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind} {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Problem:
    """One validation or analysis finding."""

    level: Level
    message: str
    path: str = ""
    ref: ObjectRef | None = None
    source: Source | None = None
    code: str | None = None

    def located(self, ref: ObjectRef | None, source: Source | None) -> Problem:
        return replace(self, ref=self.ref or ref, source=self.source or source)

    def __str__(self) -> str:
        parts = [self.level.title.lower()]
        if self.source is not None:
            parts.append(str(self.source))
        if self.ref is not None:
            parts.append(str(self.ref))
        if self.path:
            parts.append(self.path)
        return ": ".join(parts) + ": " + self.message


@dataclass
class Report:
    """Collects problems for one object; paths are relative to the object's root."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(Level.ERROR, message, path))

    def warn(self, path: str, message: str) -> None:
        self.problems.append(Problem(Level.WARNING, message, path))

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def has_errors(self) -> bool:
        return any(p.level is Level.ERROR for p in self.problems)


def join_path(base: str, name: str | int) -> str:
    """``join_path("spec.http", 0) == "spec.http[0]"``; ``join_path("spec", "hosts") == "spec.hosts"``."""
    if isinstance(name, int):
        return f"{base}[{name}]"
    return f"{base}.{name}" if base else name
