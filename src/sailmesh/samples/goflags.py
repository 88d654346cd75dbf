"""Command lines in the syntax of Go's ``flag`` package, for samples standing in for Go images.

``-name value``, ``-name=value``, ``--name`` (one or two dashes), booleans alone or as
``-name=false``; parsing stops at the first argument that is not a flag, or after ``--``.
Unknown flags are errors, as in Go. Also Go's durations (``1.5s``, ``250ms``, ``1m30s``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


class FlagError(ValueError):
    """A command line the image itself would reject."""


def parse(
    args: Sequence[str], valued: Iterable[str], booleans: Iterable[str] = ()
) -> tuple[dict[str, list[str]], list[str]]:
    """``({flag: [values in order]}, positional arguments)``; booleans get ``"true"``."""
    takes_value, flags_only = set(valued), set(booleans)
    found: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, sep, value = arg.lstrip("-").partition("=")
        if name in flags_only:
            found.setdefault(name, []).append(value if sep else "true")
        elif name in takes_value:
            if not sep:
                i += 1
                if i >= len(args):
                    raise FlagError(f"flag needs an argument: -{name}")
                value = args[i]
            found.setdefault(name, []).append(value)
        else:
            raise FlagError(f"flag provided but not defined: -{name}")
        i += 1
    return found, list(args[i:])


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def duration(text: str) -> float:
    """Seconds in a Go duration (``"0"`` alone may have no unit)."""
    text = text.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    total, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        raise FlagError(f"invalid duration {text!r}")
    return sign * total


def last(found: dict[str, list[str]], name: str, default: str) -> str:
    """The flag's last value (Go keeps the last one), else ``default``."""
    values = found.get(name)
    return values[-1] if values else default


def truthy(found: dict[str, list[str]], name: str) -> bool:
    return last(found, name, "false").lower() in ("1", "t", "true")
