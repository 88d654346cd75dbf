"""Base model for every typed config object, and shared value types (durations, percents).

Models use snake_case attributes with the camelCase names of Istio's YAML as aliases, forbid
unknown fields (the loader turns those into located errors with "did you mean" hints) and are
frozen, so snapshots can share them safely.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema


def camel_alias(name: str) -> str:
    """``consecutive_5xx_errors`` -> ``consecutive5xxErrors``; ``h2_upgrade_policy`` -> ``h2UpgradePolicy``."""
    first, *rest = name.split("_")
    return first + "".join(p[:1].upper() + p[1:] for p in rest)


class Model(BaseModel):
    """A config object or sub-object in Istio's YAML shape."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=camel_alias,
        populate_by_name=True,
        frozen=True,
        protected_namespaces=(),
    )

    def to_yaml_dict(self) -> dict[str, Any]:
        """The object as Istio would print it: camelCase names, unset fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


class Duration(str):
    """A duration as written in YAML (``"1s"``, ``"0.5s"``, ``"1m30s"``, ``"250ms"``).

    Istio accepts Go's duration syntax; ``nanos`` holds the parsed value. Negative values
    parse (validation reports them with their field path).
    """

    nanos: int

    def __new__(cls, text: str) -> Duration:
        value = super().__new__(cls, text)
        value.nanos = parse_duration_nanos(text)
        return value

    @property
    def seconds(self) -> float:
        return self.nanos / 1e9

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _to_duration,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def parse_duration_nanos(text: str) -> int:
    """Parse Go/protobuf duration syntax into nanoseconds; raise ``ValueError`` when malformed."""
    s = text.strip()
    sign = 1
    if s and s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    pos = 0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS_NS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(
            f"invalid duration {text!r}: use a number with a unit, e.g. '1s', '0.5s', '250ms', '1m30s'"
        )
    return sign * round(total)


def _to_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration(value)
    if isinstance(value, dict) and set(value) <= {"seconds", "nanos"}:
        seconds = int(value.get("seconds", 0))
        nanos = int(value.get("nanos", 0))
        return Duration(f"{seconds + nanos / 1e9:g}s")
    raise ValueError(f"invalid duration {value!r}: expected a string such as '1s' or '250ms'")


DurationStr = Duration
"""Field type for durations (alias kept for readability in models)."""


class Percent(Model):
    """Istio's ``Percent`` message: ``{value: 0..100}`` (double)."""

    value: float = 0.0


StrMap = dict[str, str]
"""A map of string to string (labels, headers, selectors)."""

__all__ = [
    "Duration",
    "DurationStr",
    "Model",
    "Percent",
    "StrMap",
    "parse_duration_nanos",
]
