"""Summaries of an Envoy ``/config_dump`` (and of ``/clusters`` for endpoints) in
``istioctl proxy-config``'s columns (pure functions)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

from cryptography import x509

Row = tuple[str, ...]


def _sections(dump: dict[str, Any], suffix: str) -> Iterator[dict[str, Any]]:
    for config in dump.get("configs", []):
        if str(config.get("@type", "")).endswith(suffix):
            yield config


def _istio_config(resource: dict[str, Any]) -> str:
    meta = resource.get("metadata", {}).get("filter_metadata", {}).get("istio", {})
    path = str(meta.get("config", ""))
    if not path:
        return "-"
    parts = path.strip("/").split("/")
    return f"{parts[-1]}.{parts[-3]}" if len(parts) >= 3 else path


def clusters(dump: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for section in _sections(dump, "ClustersConfigDump"):
        found = [c.get("cluster", {}) for c in section.get("static_clusters", [])]
        found += [c.get("cluster", {}) for c in section.get("dynamic_active_clusters", [])]
        for c in found:
            name = str(c.get("name", ""))
            ctype = str(c.get("type", "EDS" if "eds_cluster_config" in c else "STATIC"))
            parts = name.split("|")
            if len(parts) == 4:
                direction, port, subset, fqdn = parts
                rows.append((fqdn or "-", port, subset or "-", direction, ctype, _istio_config(c)))
            else:
                rows.append((name, "-", "-", "-", ctype, "-"))
    return sorted(rows)


def _address(listener: dict[str, Any]) -> tuple[str, str]:
    """``(address, port)``; a listener on a Unix socket shows ``unix://<path>`` and ``-``."""
    address = listener.get("address", {})
    if "pipe" in address:
        return f"unix://{address['pipe'].get('path', '')}", "-"
    sock = address.get("socket_address", {})
    return str(sock.get("address", "")), str(sock.get("port_value", ""))


def listeners(dump: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for section in _sections(dump, "ListenersConfigDump"):
        items = [
            x.get("active_state", {}).get("listener", {})
            for x in section.get("dynamic_listeners", [])
        ]
        items += [x.get("listener", {}) for x in section.get("static_listeners", [])]
        for lst in items:
            address, port = _address(lst)
            for chain in lst.get("filter_chains", []) or [{}]:
                rows.append((address, port, _chain_match(chain), _chain_destination(chain)))
            default = lst.get("default_filter_chain")
            if default:
                rows.append((address, port, "ALL", _chain_destination(default)))
    return rows


def _chain_match(chain: dict[str, Any]) -> str:
    match = chain.get("filter_chain_match", {})
    parts = []
    if "destination_port" in match:
        parts.append(f"Port: {match['destination_port']}")
    if match.get("transport_protocol"):
        parts.append(f"Trans: {match['transport_protocol']}")
    if match.get("application_protocols"):
        parts.append(f"App: {','.join(match['application_protocols'])}")
    if match.get("server_names"):
        parts.append(f"SNI: {','.join(match['server_names'])}")
    return "; ".join(parts) or "ALL"


def _chain_destination(chain: dict[str, Any]) -> str:
    for f in chain.get("filters", []):
        cfg = f.get("typed_config", {})
        if "rds" in cfg:
            return f"Route: {cfg['rds'].get('route_config_name', '')}"
        if "route_config" in cfg:
            return f"Inline Route: {cfg['route_config'].get('name', '')}"
        if "cluster" in cfg:
            return f"Cluster: {cfg['cluster']}"
        if "weighted_clusters" in cfg:
            names = [c.get("name", "") for c in cfg["weighted_clusters"].get("clusters", [])]
            return "Clusters: " + ",".join(names)
    return "-"


def routes(dump: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for section in _sections(dump, "RoutesConfigDump"):
        configs = [x.get("route_config", {}) for x in section.get("dynamic_route_configs", [])]
        configs += [x.get("route_config", {}) for x in section.get("static_route_configs", [])]
        for rc in configs:
            for vh in rc.get("virtual_hosts", []):
                domains = vh.get("domains", [])
                shown = (
                    domains[0]
                    if len(domains) == 1
                    else f"{domains[0]} + {len(domains) - 1} more"
                    if domains
                    else "-"
                )
                for route in vh.get("routes", []):
                    rows.append(
                        (
                            str(rc.get("name", "")),
                            str(vh.get("name", "")),
                            shown,
                            _route_match(route.get("match", {})),
                            _istio_config(route),
                        )
                    )
    return rows


def _route_match(match: dict[str, Any]) -> str:
    for key in ("path", "prefix", "path_separated_prefix"):
        if key in match:
            base = f"{match[key]}" + ("*" if key != "path" else "")
            break
    else:
        base = f"~{match['safe_regex'].get('regex', '')}" if "safe_regex" in match else "/*"
    if match.get("headers"):
        base += " (+headers)"
    return base


def endpoints(clusters_json: dict[str, Any]) -> list[Row]:
    """Every host of every cluster as the proxy sees it now (admin ``/clusters?format=json``,
    as istioctl reads it): ``STATUS`` is the host's EDS health, ``OUTLIER CHECK`` is
    ``FAILED`` while outlier detection ejects it."""
    rows: list[Row] = []
    for cluster in clusters_json.get("cluster_statuses", []):
        for host in cluster.get("host_statuses", []):
            sock = host.get("address", {}).get("socket_address", {})
            address = f"{sock.get('address', '')}:{sock.get('port_value', '')}"
            if not sock:
                address = str(host.get("address", {}).get("pipe", {}).get("path", "-"))
            health = host.get("health_status", {})
            status = str(health.get("eds_health_status", "HEALTHY"))
            if health.get("failed_active_health_check"):
                status = "UNHEALTHY"
            outlier = "FAILED" if health.get("failed_outlier_check") else "OK"
            rows.append((address, status, outlier, str(cluster.get("name", ""))))
    return sorted(rows, key=lambda r: (r[3], r[0]))


SECRET_SECTION = "SecretsConfigDump"


def secrets(dump: dict[str, Any], now: float) -> list[Row]:
    """The SDS secrets Envoy holds, in ``istioctl proxy-config secret``'s columns: a
    certificate chain by its leaf (``Cert Chain``), a trust bundle (``CA``) with a row per root
    it holds (during a root rotation, both). ``now``: for VALID CERT."""
    rows: list[Row] = []
    for section in _sections(dump, SECRET_SECTION):
        for status, key in (
            ("ACTIVE", "dynamic_active_secrets"),
            ("WARMING", "dynamic_warming_secrets"),
        ):
            for entry in section.get(key, []):
                rows += _secret_rows(entry, status, now)
    return rows


def _secret_rows(entry: dict[str, Any], status: str, now: float) -> list[Row]:
    name = str(entry.get("name", ""))
    secret = entry.get("secret", {})
    if "tls_certificate" in secret:
        certs = _pems(secret["tls_certificate"].get("certificate_chain", {}))[:1]
        kind = "Cert Chain"
    elif "validation_context" in secret:
        certs = _pems(secret["validation_context"].get("trusted_ca", {}))
        kind = "CA"
    else:
        certs, kind = [], ""
    if not certs:
        return [(name, kind, status, "false", "", "", "")]
    return [(name, kind, status, *_cert_columns(cert, now)) for cert in certs]


def _pems(source: dict[str, Any]) -> list[x509.Certificate]:
    if "inline_bytes" in source:
        data = base64.b64decode(source["inline_bytes"])
    else:
        data = str(source.get("inline_string", "")).encode()
    try:
        return x509.load_pem_x509_certificates(data) if data else []
    except ValueError:
        return []


def _cert_columns(cert: x509.Certificate, now: float) -> tuple[str, str, str, str]:
    """VALID CERT, SERIAL NUMBER (hex), NOT AFTER, NOT BEFORE."""
    before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
    valid = before.timestamp() <= now < after.timestamp()
    return (
        "true" if valid else "false",
        format(cert.serial_number, "x"),
        _iso(after),
        _iso(before),
    )


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def secrets_section(dump: dict[str, Any]) -> dict[str, Any]:
    """The ``SecretsConfigDump`` (private keys appear as Envoy prints them: ``[redacted]``)."""
    return next(_sections(dump, SECRET_SECTION), {})


def bootstrap(dump: dict[str, Any]) -> dict[str, Any]:
    for section in _sections(dump, "BootstrapConfigDump"):
        found: dict[str, Any] = section.get("bootstrap", {})
        return found
    return {}


HEADERS: dict[str, tuple[str, ...]] = {
    "cluster": ("SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"),
    "listener": ("ADDRESSES", "PORT", "MATCH", "DESTINATION"),
    "route": ("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"),
    "endpoint": ("ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"),
    "secret": (
        "RESOURCE NAME",
        "TYPE",
        "STATUS",
        "VALID CERT",
        "SERIAL NUMBER",
        "NOT AFTER",
        "NOT BEFORE",
    ),
}
#: Summaries of the config dump (endpoints come from ``/clusters``: see :func:`endpoints`).
SUMMARIES = {"cluster": clusters, "listener": listeners, "route": routes}
