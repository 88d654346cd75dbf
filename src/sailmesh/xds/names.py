"""Every Envoy resource name sailmesh generates, in Istio's exact spelling.

Keeping them in one module means tooling that reads Envoy's admin API (``istioctl proxy-config``
habits, Kiali, dashboards) finds the names it expects, and tests can refer to them by function.

Choices where Istio has more than one spelling:

- The inbound passthrough cluster is ``InboundPassthroughCluster`` (the name in DESIGN.md; Istio
  uses ``InboundPassthroughClusterIpv4``/``...Ipv6`` since dual-stack support). sailmesh is
  IPv4-only, so one name suffices.
- Cluster stats: no ``alt_stat_name`` is set. The bootstrap (``xds/bootstrap.py``) carries
  Istio's ``cluster_name`` tag extraction rule, so ``outbound|9080|v1|reviews.default.svc...``
  survives dots in stats as the ``cluster_name`` tag, exactly as in Istio.
"""

from __future__ import annotations

import re

from sailmesh.config.resource import Resource

# --- special clusters ----------------------------------------------------------------------
PASSTHROUGH_CLUSTER = "PassthroughCluster"
BLACKHOLE_CLUSTER = "BlackHoleCluster"
INBOUND_PASSTHROUGH_CLUSTER = "InboundPassthroughCluster"

# --- special listeners and ports -----------------------------------------------------------
VIRTUAL_OUTBOUND_LISTENER = "virtualOutbound"
VIRTUAL_INBOUND_LISTENER = "virtualInbound"
OUTBOUND_CAPTURE_PORT = 15001
INBOUND_CAPTURE_PORT = 15006
WILDCARD_ADDRESS = "0.0.0.0"
LOCALHOST = "127.0.0.1"
#: Source address of inbound connections from the sidecar to the app (iptables lets it through).
INBOUND_PASSTHROUGH_BIND_IP = "127.0.0.6"

# --- filter chain and virtual host names ---------------------------------------------------
PASSTHROUGH_FILTER_CHAIN = "PassthroughFilterChain"
ALLOW_ANY_VHOST = "allow_any"
BLOCK_ALL_VHOST = "block_all"
INBOUND_PASSTHROUGH_FILTER_CHAIN = "InboundPassthroughFilterChain"
#: Route config served by the explicit (``http_proxy``) listener of an interception NONE proxy.
EXPLICIT_PROXY_ROUTE = "http_proxy"
DEFAULT_ROUTE_NAME = "default"

# --- metadata ------------------------------------------------------------------------------
ISTIO_METADATA_KEY = "istio"
#: Endpoint metadata namespace Envoy matches ``transport_socket_matches`` against.
TRANSPORT_SOCKET_MATCH_KEY = "envoy.transport_socket_match"
#: The key in it (Istio's short name of the ``security.istio.io/tlsMode`` label).
TLS_MODE_KEY = "tlsMode"

# --- mutual TLS ----------------------------------------------------------------------------
#: ``transport_socket_matches`` entries of an auto-mTLS cluster, named after the tlsMode.
TLS_MODE_ISTIO_MATCH = "tlsMode-istio"
TLS_MODE_DISABLED_MATCH = "tlsMode-disabled"
#: Suffixes of inbound filter chains: Istio mutual TLS terminated by the sidecar, and TLS the
#: sidecar passes through to the app untouched (PERMISSIVE ports).
MTLS_CHAIN_SUFFIX = "mtls"
TLS_CHAIN_SUFFIX = "tls"


def outbound_cluster(port: int, subset: str, hostname: str) -> str:
    """``outbound|9080|v1|reviews.default.svc.cluster.local`` (subset may be empty)."""
    return f"outbound|{port}|{subset}|{hostname}"


def inbound_cluster(port: int) -> str:
    """``inbound|9080||`` (the workload's target port)."""
    return f"inbound|{port}||"


def parse_cluster(name: str) -> tuple[str, int, str, str] | None:
    """``outbound|9080|v1|reviews...`` -> ``("outbound", 9080, "v1", "reviews...")``; else None."""
    parts = name.split("|")
    if len(parts) != 4 or parts[0] not in ("outbound", "inbound") or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2], parts[3]


def listener_name(address: str, port: int) -> str:
    """``0.0.0.0_9080`` or ``10.96.0.12_3306``."""
    return f"{address}_{port}"


def cidr_chain(cidr: str, port: int) -> str:
    """The filter chain of a ServiceEntry's CIDR address on a port: ``240.0.7.0_24_7000``."""
    return f"{cidr.replace('/', '_')}_{port}"


def subnet_chain(base: str, index: int) -> str:
    """The filter chain of a TCP/TLS route matching subnets: ``<base>_subnets<index>``
    (``base``: the listener's or service's chain name; the catch-all route keeps ``base``)."""
    return f"{base}_subnets{index}"


def outbound_route_config(port: int) -> str:
    """The RDS name of an outbound HTTP port: ``9080``."""
    return str(port)


def inbound_route_config(port: int) -> str:
    """The inline route config of an inbound HTTP port: ``inbound|9080||``."""
    return inbound_cluster(port)


def virtual_host(hostname: str, port: int) -> str:
    """``reviews.default.svc.cluster.local:9080``."""
    return f"{hostname}:{port}"


def inbound_virtual_host(port_name: str, port: int) -> str:
    """``inbound|http|9080``, as Istio names the inbound virtual host."""
    return f"inbound|{port_name or 'http'}|{port}"


def outbound_stat_prefix(address: str, port: int) -> str:
    """HTTP connection manager stat prefix of an outbound listener: ``outbound_0.0.0.0_9080``."""
    return f"outbound_{address}_{port}"


def inbound_stat_prefix(port: int) -> str:
    """HTTP connection manager stat prefix of an inbound chain: ``inbound_0.0.0.0_9080``."""
    return f"inbound_{WILDCARD_ADDRESS}_{port}"


def inbound_filter_chain(port: int, protocol: str, security: str = "", bind: str = "") -> str:
    """Filter chain name on ``virtualInbound``: ``0.0.0.0_9080`` (``<bind>_9080`` for a Sidecar
    ingress listener with a ``bind``; + ``_tcp`` for TCP), then ``_mtls`` for the chain
    terminating Istio mutual TLS and ``_tls`` for TLS passed through or terminated with the
    listener's own certificate (``security``: :data:`MTLS_CHAIN_SUFFIX`,
    :data:`TLS_CHAIN_SUFFIX` or empty)."""
    base = listener_name(bind or WILDCARD_ADDRESS, port)
    name = base if protocol == "http" else f"{base}_{protocol}"
    return f"{name}_{security}" if security else name


def inbound_passthrough_chain(port: int | None = None, security: str = "") -> str:
    """``InboundPassthroughFilterChain`` (``_<port>`` for a port-level mTLS port no service
    declares, then ``_mtls``/``_tls`` as :func:`inbound_filter_chain`)."""
    name = INBOUND_PASSTHROUGH_FILTER_CHAIN + (f"_{port}" if port else "")
    return f"{name}_{security}" if security else name


def outbound_sni(port: int, subset: str, hostname: str) -> str:
    """The SNI of Istio mutual TLS to a service: ``outbound_.9080_.v1_.reviews.default.svc...``
    (Istio's DNS SRV form of the cluster name; the subset may be empty)."""
    return f"outbound_.{port}_.{subset}_.{hostname}"


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    """``spiffe://cluster.local/ns/default/sa/bookinfo-reviews``."""
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


_KEBAB = re.compile(r"(?<!^)(?=[A-Z])")


def kind_path_segment(kind: str) -> str:
    """``VirtualService`` -> ``virtual-service`` (Istio's ``CamelCaseToKebabCase``)."""
    return _KEBAB.sub("-", kind).lower()


def config_path(resource: Resource) -> str:
    """``/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews``.

    Istio's ``istio.config`` metadata value (``AddConfigInfoMetadata``), with the kind in kebab
    case and the object's own API version.
    """
    return (
        f"/apis/{resource.group}/{resource.version}/namespaces/{resource.namespace}/"
        f"{kind_path_segment(resource.kind)}/{resource.name}"
    )


def decorator_operation(hostname: str, port: int, route_name: str = "") -> str:
    """Tracing operation name: ``reviews.default.svc.cluster.local:9080/*``."""
    return f"{hostname}:{port}/{route_name or '*'}"


# --- authorization (RBAC and ext_authz) ----------------------------------------------------
#: RBAC policy names of CUSTOM rules start with this; ext_authz runs when one matched.
EXT_AUTHZ_POLICY_PREFIX = "istio-ext-authz"
#: Stat (and dynamic metadata key) prefixes of RBAC shadow rules, by purpose.
EXT_AUTHZ_SHADOW_PREFIX = "istio_ext_authz_"
DRY_RUN_ALLOW_PREFIX = "istio_dry_run_allow_"
DRY_RUN_DENY_PREFIX = "istio_dry_run_deny_"
#: Stat prefix of the network (TCP) RBAC and ext_authz filters.
TCP_RBAC_STAT_PREFIX = "tcp."


def rbac_policy_name(namespace: str, name: str, rule: int, custom: bool = False) -> str:
    """``ns[foo]-policy[httpbin]-rule[0]`` (``istio-ext-authz-`` in front for CUSTOM rules)."""
    base = f"ns[{namespace}]-policy[{name}]-rule[{rule}]"
    return f"{EXT_AUTHZ_POLICY_PREFIX}-{base}" if custom else base
