"""Validation rules for the Kubernetes kinds the local runtime reads: Namespace,
ServiceAccount, Service, Secret, ConfigMap (``v1``), Pod (``v1``) and Deployment (``apps/v1``,
checks in ``pods``).

The checks are the API server's (names, ports, selectors, base64 data, required secret keys),
plus Istio's meaning of the ``istio-injection`` namespace label.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from typing import cast

from sailmesh.config.diagnostics import Report
from sailmesh.config.models.kubernetes.objects import (
    ConfigMapBody,
    SecretBody,
    ServiceAccountBody,
    ServiceBody,
    ServicePort,
    ServiceSpec,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.kubernetes.names import (
    DNS1123_SUBDOMAIN,
    check_labels,
    check_meta,
    dns_label_problem,
    iana_svc_name_problem,
    map_path,
)

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
INJECTION_VALUES = ("enabled", "disabled")
# Keys a typed Secret must carry (in data or stringData).
SECRET_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def validate_namespace(resource: Resource, report: Report) -> None:
    check_meta(report, resource)
    if problem := dns_label_problem(resource.name, "namespace name"):
        report.error("metadata.name", problem)
    value = resource.labels.get("istio-injection")
    if value is not None and value not in INJECTION_VALUES:
        report.warn(
            "metadata.labels.istio-injection",
            f"istio-injection={value!r} is neither "
            "'enabled' nor 'disabled', so Istio ignores it and pods get no sidecar; use "
            "istio-injection: enabled",
        )
    if value is not None and "istio.io/rev" in resource.labels:
        report.warn(
            "metadata.labels",
            "both istio-injection and istio.io/rev are set; "
            "istio-injection takes precedence, remove one of them",
        )


def validate_service_account(resource: Resource, report: Report) -> None:
    check_meta(report, resource)
    body = cast(ServiceAccountBody, resource.body)
    for i, ref in enumerate(body.image_pull_secrets or ()):
        if not ref.name:
            report.error(
                f"imagePullSecrets[{i}].name",
                "required field is missing: the name of a docker-registry Secret",
            )


def validate_service(resource: Resource, report: Report) -> None:
    check_meta(report, resource)
    if resource.name and (not _DNS1035_LABEL.match(resource.name) or len(resource.name) > 63):
        report.error(
            "metadata.name",
            f"invalid Service name {resource.name!r}: must be a "
            "DNS-1035 label (at most 63 characters of a-z, 0-9 and '-', starting with a "
            "letter)",
        )
    spec = cast(ServiceBody, resource.body).spec
    check_labels(report, "spec.selector", spec.selector)
    _check_service_type(report, spec)
    ports = spec.ports or []
    names: set[str] = set()
    port_keys: set[tuple[int, str]] = set()
    for i, port in enumerate(ports):
        at = f"spec.ports[{i}]"
        _check_service_port(report, at, port, spec)
        if len(ports) > 1 and not port.name:
            report.error(
                f"{at}.name",
                "required when a Service has more than one port; name "
                "ports after their protocol, e.g. 'http-web' or 'grpc', so Istio can "
                "pick the protocol",
            )
        if port.name:
            if port.name in names:
                report.error(f"{at}.name", f"duplicate port name {port.name!r}")
            names.add(port.name)
        if port.port is not None:
            key = (port.port, port.protocol)
            if key in port_keys:
                report.error(
                    f"{at}.port",
                    f"duplicate port {port.port}/{port.protocol}; each "
                    "port and protocol pair may appear once",
                )
            port_keys.add(key)


def _check_service_type(report: Report, spec: ServiceSpec) -> None:
    if spec.type == "ExternalName":
        if not spec.external_name:
            report.error(
                "spec.externalName",
                "required for type ExternalName: the DNS name "
                "this Service aliases, e.g. 'db.example.com'",
            )
        elif not DNS1123_SUBDOMAIN.match(spec.external_name.rstrip(".").lower()):
            report.error("spec.externalName", f"invalid DNS name {spec.external_name!r}")
    elif not spec.ports and not spec.headless:
        report.error(
            "spec.ports",
            "required field is missing: a Service needs at least one "
            "port (unless it is type ExternalName or headless with clusterIP: None)",
        )
    for field, values in (
        ("clusterIP", [spec.cluster_ip] if spec.cluster_ip else []),
        ("clusterIPs", spec.cluster_ips or []),
        ("externalIPs", spec.external_ips or []),
    ):
        for value in values:
            if value in ("None", "") and field != "externalIPs":
                continue
            try:
                ipaddress.ip_address(value)
            except ValueError:
                report.error(
                    f"spec.{field}",
                    f"invalid IP address {value!r}: use an address, "
                    "'None' for a headless Service, or leave it unset to allocate one",
                )


def _check_service_port(report: Report, at: str, port: ServicePort, spec: ServiceSpec) -> None:
    if port.port is None:
        report.error(f"{at}.port", "required field is missing: the port the Service listens on")
    elif not 1 <= port.port <= 65535:
        report.error(f"{at}.port", f"invalid port {port.port}: must be between 1 and 65535")
    if port.name and (problem := dns_label_problem(port.name, "port name")):
        report.error(f"{at}.name", problem)
    target = port.target_port
    if isinstance(target, int):
        if not 1 <= target <= 65535:
            report.error(
                f"{at}.targetPort",
                f"invalid targetPort {target}: must be between 1 "
                "and 65535 (or the name of a container port)",
            )
    elif isinstance(target, str):
        if target.isdigit():
            report.error(
                f"{at}.targetPort",
                f"targetPort {target!r} is a string, which names a "
                f"container port; write the number without quotes: {target}",
            )
        elif problem := iana_svc_name_problem(target):
            report.error(f"{at}.targetPort", problem)
    if port.node_port is not None:
        if spec.type in ("ClusterIP", "ExternalName"):
            report.error(
                f"{at}.nodePort",
                f"may not be used when type is {spec.type!r}; use "
                "type NodePort or LoadBalancer, or remove nodePort",
            )
        elif not 1 <= port.node_port <= 65535:
            report.error(
                f"{at}.nodePort",
                f"invalid nodePort {port.node_port}: must be between "
                "1 and 65535 (by default 30000-32767)",
            )


def validate_secret(resource: Resource, report: Report) -> None:
    check_meta(report, resource)
    body = cast(SecretBody, resource.body)
    _check_data_keys(report, "data", body.data)
    _check_data_keys(report, "stringData", body.string_data)
    decoded = _check_base64(report, "data", body.data)
    present = set(body.data or {}) | set(body.string_data or {})
    missing = [k for k in SECRET_REQUIRED_KEYS.get(body.type, ()) if k not in present]
    if missing:
        report.error(
            "data",
            f"a Secret of type {body.type} needs key(s) "
            f"{', '.join(missing)} in data (base64) or stringData (plain text)",
        )
    if body.type == "kubernetes.io/tls":
        plain = {**decoded, **{k: v.encode() for k, v in (body.string_data or {}).items()}}
        for key in ("tls.crt", "tls.key"):
            if key in plain and b"-----BEGIN" not in plain[key]:
                report.warn(
                    map_path("data", key),
                    f"{key} does not look like PEM (no "
                    "'-----BEGIN' line); gateways expect PEM-encoded certificates and keys",
                )
    if body.type == "kubernetes.io/service-account-token" and (
        "kubernetes.io/service-account.name" not in resource.annotations
    ):
        report.error(
            "metadata.annotations",
            "a service-account-token Secret needs the "
            "annotation kubernetes.io/service-account.name",
        )


def validate_config_map(resource: Resource, report: Report) -> None:
    check_meta(report, resource)
    body = cast(ConfigMapBody, resource.body)
    _check_data_keys(report, "data", body.data)
    _check_data_keys(report, "binaryData", body.binary_data)
    _check_base64(report, "binaryData", body.binary_data)
    for key in set(body.data or {}) & set(body.binary_data or {}):
        report.error(
            map_path("binaryData", key),
            f"key {key!r} is also in data; a key may appear in only one of data and binaryData",
        )


def _check_data_keys(report: Report, path: str, data: Mapping[str, str] | None) -> None:
    for key in data or {}:
        if not key or len(key) > 253 or not _DATA_KEY.match(key):
            report.error(
                map_path(path, key),
                f"invalid key {key!r}: use at most 253 characters "
                "of a-z, A-Z, 0-9, '-', '_' and '.' (file names such as 'tls.crt')",
            )


def _check_base64(report: Report, path: str, data: Mapping[str, str] | None) -> dict[str, bytes]:
    decoded: dict[str, bytes] = {}
    for key, value in (data or {}).items():
        try:
            decoded[key] = base64.b64decode(re.sub(r"[\r\n]", "", value), validate=True)
        except (binascii.Error, ValueError):
            report.error(
                map_path(path, key),
                f"value of {key!r} is not valid base64; encode it "
                "(`base64 -w0 file`) or move it to stringData as plain text"
                if path == "data"
                else f"value of {key!r} is not valid base64",
            )
    return decoded
