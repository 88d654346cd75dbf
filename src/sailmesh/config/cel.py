"""The CEL expressions the Telemetry API takes: which ones the data plane can evaluate (pure).

Istio's tag override values and access-log filters are CEL over the proxy's standard
attributes (``request.headers['x-user']``, ``response.code >= 400``), with Istio's ``a | b``
meaning "``a``, or ``b`` when ``a`` has no value". A proxy rejects a configuration whose
expression it cannot parse as a whole, so only expressions that pass :func:`supported` are
used: tokens CEL knows, balanced brackets, and attribute roots of the standard vocabulary
(:data:`ATTRIBUTE_ROOTS`; Istio's own ``upstream_peer``/``node`` are not in it).
:func:`tag_supported` and :func:`filter_expression` are what the Telemetry API's fields
need; the enforcement table lists the others as not enforced.
"""

from __future__ import annotations

import re

#: Attribute roots the data plane's CEL knows (request, response, connection, upstream,
#: source, destination, xds, metadata and filter state) and the functions and constants used
#: without a receiver.
ATTRIBUTE_ROOTS = frozenset(
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
    """Whether the data plane can evaluate ``expression``: CEL tokens only, balanced
    brackets, every attribute path rooted in :data:`ATTRIBUTE_ROOTS`."""
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
        elif kind == "ident" and previous != "." and text not in ATTRIBUTE_ROOTS:
            return False
        previous = text
    return depth == 0


def split_default(expression: str) -> tuple[str, str | None]:
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
    """An access-log filter the data plane can evaluate, or None."""
    expression = expression.strip()
    return expression if supported(expression) and "|" not in _ops(expression) else None


def _ops(expression: str) -> set[str]:
    return {text for kind, text in tokens(expression) or [] if kind == "op"}


_LITERAL = re.compile(r"""^(['"])((?:(?!\1)[^\\%])*)\1$""")


def literal(expression: str) -> str | None:
    """The text of a plain string literal (``'x'`` or ``"x"``), else None."""
    found = _LITERAL.match(expression.strip())
    return found.group(2) if found else None


def tag_supported(expression: str) -> bool:
    """Whether a tag override value can be computed: a literal, or a supported expression
    optionally followed by ``| 'default'``."""
    main, default = split_default(expression.strip())
    if default is not None:
        return literal(default) is not None and tag_supported(main)
    return literal(main) is not None or (supported(main) and "%" not in main)
