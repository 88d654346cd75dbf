"""Telemetry tag override values as Envoy computes them (pure).

In: a tagOverrides ``value`` (CEL, checked by :mod:`sailmesh.config.cel`). Out: a
:class:`TagValue`: an Envoy command-operator format string for the stats access logger's tag,
and the value to use when it comes out empty (Istio's ``| 'default'``). Common forms become
plain command operators (``request.headers['x']`` -> ``%REQ(x)%``), cheaper per request than
the general ``%CEL(...)%`` operator every other supported expression uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sailmesh.config.cel import literal, split_default, supported

_OPERATORS = {
    "request.host": "%REQ(:AUTHORITY)%",
    "request.method": "%REQ(:METHOD)%",
    "request.path": "%REQ(:PATH)%",
    "request.scheme": "%REQ(:SCHEME)%",
    "response.code": "%RESPONSE_CODE%",
    "response.flags": "%RESPONSE_FLAGS%",
}
_HEADER = re.compile(r"""^request\.headers\[(['"])([A-Za-z0-9_.:-]+)\1\]$""")


@dataclass(frozen=True)
class TagValue:
    """A tag override value as Envoy computes it: a format string, and the value to use when
    it comes out empty (Istio's ``| default``)."""

    format: str
    default: str = ""


def tag_value(expression: str) -> TagValue | None:
    """The Envoy format of a tag override value; None when Envoy cannot compute it."""
    expression = expression.strip()
    main, default = split_default(expression)
    if default is not None:
        fallback = literal(default)
        inner = tag_value(main) if fallback is not None else None
        return TagValue(inner.format, fallback or "") if inner else None
    text = literal(expression)
    if text is not None:
        return TagValue(text or "-")
    header = _HEADER.match(expression)
    if header is not None:
        return TagValue(f"%REQ({header.group(2)})%")
    if expression in _OPERATORS:
        return TagValue(_OPERATORS[expression])
    if not supported(expression) or "%" in expression:
        return None
    return TagValue(f"%CEL({expression})%")
