"""Value checks of the Istio annotations whose values the injector parses (IST0125).

In: an annotation's name and value. Out: None when the value is valid (or the annotation has no
check), else what is wrong with it, in a few words. The checks are those Istio's injector runs:
interception mode, status port, readiness probe numbers, capture IP ranges and port lists,
metrics merging, and ``proxy.istio.io/config`` (a YAML mapping of ProxyConfig fields).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import yaml

Check = Callable[[str], str | None]

INTERCEPTION_MODES = ("REDIRECT", "TPROXY", "NONE")
_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}


def _interception_mode(value: str) -> str | None:
    if value in INTERCEPTION_MODES:
        return None
    return f"interceptionMode invalid, use {','.join(INTERCEPTION_MODES)}: {value}"


def _port(text: str) -> str | None:
    text = text.strip()
    if text.isdigit() and int(text) <= 65535:
        return None
    return f"failed parsing port {text!r}: not a number from 0 to 65535"


def _ports(label: str, wildcard: bool = False) -> Check:
    def check(value: str) -> str | None:
        value = value.strip()
        if not value or (wildcard and value == "*"):
            return None
        for part in value.split(","):
            problem = _port(part)
            if problem is not None:
                return f"{label} invalid: {problem}"
        return None

    return check


def _cidrs(label: str, wildcard: bool = False) -> Check:
    def check(value: str) -> str | None:
        if not value or (wildcard and value == "*"):
            return None
        for cidr in value.split(","):
            try:
                if "/" not in cidr:
                    raise ValueError("no prefix length")
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                return f"{label} invalid: failed parsing cidr {cidr!r}: {exc}"
        return None

    return check


def _uint32(value: str) -> str | None:
    if value.isdigit() and int(value) < 2**32:
        return None
    return f"{value!r} is not an unsigned 32-bit integer"


def _bool(value: str) -> str | None:
    return None if value in _BOOLS else f"{value!r} is not a boolean"


def _proxy_config(value: str) -> str | None:
    try:
        data = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        return f"failed to parse the proxy config: {str(exc).splitlines()[0]}"
    if data is not None and not isinstance(data, dict):
        return "the proxy config must be a mapping of ProxyConfig fields"
    return None


_READINESS = "readiness.status.sidecar.istio.io/"
_TRAFFIC = "traffic.sidecar.istio.io/"

CHECKS: dict[str, Check] = {
    "sidecar.istio.io/interceptionMode": _interception_mode,
    "status.sidecar.istio.io/port": lambda v: (
        None if _port(v) is None else f"statusPort invalid: {_port(v)}"
    ),
    f"{_READINESS}initialDelaySeconds": _uint32,
    f"{_READINESS}periodSeconds": _uint32,
    f"{_READINESS}failureThreshold": _uint32,
    f"{_TRAFFIC}includeOutboundIPRanges": _cidrs("includeIPRanges", wildcard=True),
    f"{_TRAFFIC}excludeOutboundIPRanges": _cidrs("excludeIPRanges"),
    f"{_TRAFFIC}includeInboundPorts": _ports("includeInboundPorts", wildcard=True),
    f"{_TRAFFIC}excludeInboundPorts": _ports("excludeInboundPorts"),
    f"{_TRAFFIC}excludeOutboundPorts": _ports("excludeOutboundPorts"),
    f"{_TRAFFIC}includeOutboundPorts": _ports("includeOutboundPorts"),
    "prometheus.istio.io/merge-metrics": _bool,
    "proxy.istio.io/config": _proxy_config,
}


def problem(name: str, value: str) -> str | None:
    """What is wrong with ``value`` of annotation ``name`` (None: nothing, or no check)."""
    check = CHECKS.get(name)
    return check(value) if check is not None else None
