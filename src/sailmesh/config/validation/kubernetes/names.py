"""Kubernetes name syntax shared by the security, telemetry, extensions and Kubernetes validators:
label keys and values, DNS-1123 names, IANA service (port) names, environment variable names,
HTTP header names; plus ``map_path`` for field paths that end in a map key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sailmesh.config.diagnostics import Report
from sailmesh.config.resource import Resource

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_HTTP_HEADER_NAME = re.compile(r"^[-_A-Za-z0-9]+$")
_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def map_path(base: str, key: str) -> str:
    """Path of a map entry: ``metadata.labels.app`` or ``data[tls.crt]`` when the key has dots."""
    return f"{base}.{key}" if _SIMPLE_KEY.match(key) else f"{base}[{key}]"


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key (``[prefix/]name``), or None."""
    if not key:
        return "label key must not be empty"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return (
            f"invalid label key {key!r}: the prefix before '/' must be a lowercase DNS "
            "subdomain such as 'app.kubernetes.io'"
        )
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            f"invalid label key {key!r}: the name part must be at most 63 characters of "
            "a-z, A-Z, 0-9, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value, or None (the empty value is valid)."""
    if value == "":
        return None
    if len(value) > 63 or not _QUALIFIED_NAME.match(value):
        return (
            f"invalid label value {value!r}: use at most 63 characters of a-z, A-Z, 0-9, "
            "'-', '_' or '.', starting and ending with a letter or digit (or leave it empty)"
        )
    return None


def check_labels(report: Report, path: str, labels: Mapping[str, str] | None) -> None:
    """Report every invalid key and value of a label map (metadata labels, selectors)."""
    for key, value in (labels or {}).items():
        at = map_path(path, key)
        problem = label_key_problem(key) or label_value_problem(value)
        if problem:
            report.error(at, problem)


def check_meta(report: Report, resource: Resource) -> None:
    """What the API server checks in every object's metadata: namespace, labels, annotations."""
    namespace = resource.meta.namespace
    if namespace and (problem := dns_label_problem(namespace, "namespace")):
        report.error("metadata.namespace", problem)
    check_labels(report, "metadata.labels", resource.labels)
    for key in resource.annotations:
        if problem := label_key_problem(key):
            report.error(
                map_path("metadata.annotations", key),
                problem.replace("label key", "annotation key"),
            )


def dns_label_problem(name: str, what: str) -> str | None:
    if not name:
        return f"{what} must not be empty"
    if len(name) > 63 or not DNS1123_LABEL.match(name):
        return (
            f"invalid {what} {name!r}: must be a lowercase RFC 1123 label (at most 63 "
            "characters of a-z, 0-9 and '-', starting and ending with a letter or digit)"
        )
    return None


def iana_svc_name_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA service name (container port names, named targetPorts)."""
    if (
        len(name) > 15
        or not _IANA_SVC_NAME.match(name)
        or "--" in name
        or not re.search(r"[a-z]", name)
    ):
        return (
            f"invalid port name {name!r}: must be at most 15 characters of a-z, 0-9 and '-', "
            "contain a letter, and not start or end with '-' or contain '--' (e.g. 'http')"
        )
    return None


def env_name_problem(name: str) -> str | None:
    if not name:
        return "environment variable name must not be empty"
    if "=" in name or any(not (" " <= c <= "~") for c in name):
        return (
            f"invalid environment variable name {name!r}: use printable ASCII without '=' "
            "(conventionally [A-Za-z_][A-Za-z0-9_]*)"
        )
    return None


def header_name_problem(name: str) -> str | None:
    if not _HTTP_HEADER_NAME.match(name):
        return (
            f"invalid header name {name!r}: use letters, digits, '-' and '_' only "
            "(e.g. 'x-jwt-claim-sub')"
        )
    return None


__all__ = [
    "DNS1123_LABEL",
    "DNS1123_SUBDOMAIN",
    "check_labels",
    "check_meta",
    "dns_label_problem",
    "env_name_problem",
    "header_name_problem",
    "iana_svc_name_problem",
    "label_key_problem",
    "label_value_problem",
    "map_path",
]
