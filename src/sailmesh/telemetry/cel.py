"""The CEL expressions the Telemetry API takes, as Envoy can evaluate them (pure).

Istio's tag override values and access-log filters are CEL over Envoy's attributes
(``request.headers['x-user']``, ``response.code >= 400``), with Istio's ``a | b`` meaning
"``a``, or ``b`` when ``a`` has no value". Envoy evaluates CEL itself (the ``%CEL(...)%``
command operator, the ``cel`` access-log filter), but a config it cannot parse is rejected as a
whole, so an expression is only passed on when it passes :func:`supported`: tokens CEL knows,
balanced brackets, and attribute roots Envoy has (Istio's own ``upstream_peer``/``node``
attributes are not). Common forms become plain command operators (cheaper than CEL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Attribute roots Envoy's CEL knows (request, response, connection, upstream, source,
#: destination, xds, metadata and filter state).
ENVOY_ROOTS = frozenset(
    {
        "request",
        "response",
        "connection",
        "upstream",
        "source",
        "destination",
        "xds",
        "metadata",
        "filter_state",
        "has",
        "size",
        "string",
        "int",
        "true",
        "false",
        "null",
    }
)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|>=|<=|&&|\|\||[<>+\-*/%!?:.,\[\]()|])
    )""",
    re.VERBOSE,
)
_OPERATORS = {
    "request.host": "%REQ(:AUTHORITY)%",
    "request.method": "%REQ(:METHOD)%",
    "request.path": "%REQ(:PATH)%",
    "request.scheme": "%REQ(:SCHEME)%",
    "response.code": "%RESPONSE_CODE%",
    "response.flags": "%RESPONSE_FLAGS%",
}
_HEADER = re.compile(r"""^request\.headers\[(['"])([A-Za-z0-9_.:-]+)\1\]$""")
_LITERAL = re.compile(r"""^(['"])((?:(?!\1)[^\\%])*)\1$""")


def tokens(expression: str) -> list[tuple[str, str]] | None:
    """``(kind, text)`` tokens of ``expression``; None when something is not a CEL token."""
    found = _scan(expression)
    return None if found is None else [(kind, text) for kind, text, _ in found]


def _scan(expression: str) -> list[tuple[str, str, int]] | None:
    """Tokens with their start offsets."""
    out: list[tuple[str, str, int]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            return None
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return out


def supported(expression: str) -> bool:
    """Whether Envoy can evaluate ``expression``: CEL tokens only, balanced brackets, every
    attribute path rooted in :data:`ENVOY_ROOTS`."""
    found = tokens(expression)
    if not found:
        return False
    depth = 0
    previous = ""
    for kind, text in found:
        if text in "([":
            depth += 1
        elif text in ")]":
            depth -= 1
            if depth < 0:
                return False
        elif kind == "ident" and previous != "." and text not in ENVOY_ROOTS:
            return False
        previous = text
    return depth == 0


@dataclass(frozen=True)
class TagValue:
    """A tag override value as Envoy computes it: a format string, and the value to use when
    it comes out empty (Istio's ``| default``)."""

    format: str
    default: str = ""


def tag_value(expression: str) -> TagValue | None:
    """The Envoy format of a tag override value; None when Envoy cannot compute it."""
    expression = expression.strip()
    main, default = _split_default(expression)
    if default is not None:
        literal = _LITERAL.match(default)
        if literal is None:
            return None
        inner = tag_value(main)
        return TagValue(inner.format, literal.group(2)) if inner else None
    literal = _LITERAL.match(expression)
    if literal is not None:
        return TagValue(literal.group(2) or "-")
    header = _HEADER.match(expression)
    if header is not None:
        return TagValue(f"%REQ({header.group(2)})%")
    if expression in _OPERATORS:
        return TagValue(_OPERATORS[expression])
    if not supported(expression) or "%" in expression:
        return None
    return TagValue(f"%CEL({expression})%")


def _split_default(expression: str) -> tuple[str, str | None]:
    """``a | 'b'`` -> (``a``, ``'b'``) at the last top-level single ``|``."""
    found = _scan(expression) or []
    depth, cut = 0, -1
    for _, text, start in found:
        if text in "([":
            depth += 1
        elif text in ")]":
            depth -= 1
        elif text == "|" and depth == 0:
            cut = start
    if cut < 0:
        return expression, None
    return expression[:cut].strip(), expression[cut + 1 :].strip()


def filter_expression(expression: str) -> str | None:
    """An access-log filter Envoy's ``cel`` filter can evaluate, or None."""
    expression = expression.strip()
    return expression if supported(expression) and "|" not in _ops(expression) else None


def _ops(expression: str) -> set[str]:
    return {text for kind, text in tokens(expression) or [] if kind == "op"}
