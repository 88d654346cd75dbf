"""Which TLS an outbound cluster speaks, decided as Istio decides it (``buildAutoMtlsSettings``).

In: a cluster spec (service, port, subset, the DestinationRule policy resolved with Istio's
``portLevelSettings``/subset precedence by :mod:`sailmesh.xds.policy`), the proxy's scope and
translation options. Out: the cluster's ``transport_socket`` or ``transport_socket_matches``.

- DestinationRule ``tls.mode: DISABLE``: plaintext.
- ``ISTIO_MUTUAL``: always Istio mutual TLS (no per-endpoint choice), SNI ``tls.sni`` or
  ``outbound_.<port>_.<subset>_.<host>``, the server checked against ``tls.subjectAltNames`` or
  the service's SPIFFE ids.
- ``SIMPLE``/``MUTUAL``: TLS origination with the rule's files (:func:`tls.originate_upstream`);
  without ``sni`` the request's host is sent (``auto_sni``) and, without subject alt names, the
  server is checked against it (``auto_san_validation``), whatever the port's protocol (an
  ``HTTPS`` or ``TLS`` port of a ServiceEntry carries HTTP once the sidecar or egress gateway
  originates TLS to it; Istio's ``setAutoSniAndAutoSanValidation``; a TCP proxy ignores them).
  A ServiceEntry's own ``subjectAltNames`` (and its endpoints' service accounts) are the
  configured matchers when the rule names none, as Istio does for external registries (Envoy
  checks them and, on HTTP requests with ``auto_san_validation``, the request's host too). ``credentialName`` is read at
  gateways only, as in Istio (the client certificate and CA of the Secret in the gateway's
  namespace, over ADS); sidecars use the file settings.
- no ``tls``: with meshConfig ``enableAutoMtls: false``, plaintext (a STRICT server then
  refuses it: clients need a rule with ISTIO_MUTUAL, as in Istio); otherwise (the default)
  auto mTLS for services inside the mesh (not ``MESH_EXTERNAL``) unless the
  namespace-wide or mesh-wide PeerAuthentication of the service's namespace is DISABLE: an
  endpoint whose workload carries ``security.istio.io/tlsMode: istio`` (EDS metadata
  ``envoy.transport_socket_match``) gets Istio mutual TLS (``tlsMode-istio``), the others
  plaintext (``tlsMode-disabled``). Passthrough clusters (ORIGINAL_DST) cannot choose per
  endpoint: they use mutual TLS only when every endpoint has a sidecar.

Istio mutual TLS needs the proxy's own certificate over SDS (``TranslateOptions.sds``). A
proxy without one cannot originate it: its clusters stay plaintext (a STRICT server then
refuses the connection; a PERMISSIVE one accepts it as plaintext).

The SPIFFE ids of a service are those of its endpoints' service accounts and, for a
ServiceEntry, its ``subjectAltNames``, each in the mesh's trust domain and its aliases (Istio's
``ServiceAccounts`` with ``ExpandWithTrustDomains``).
"""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo_pb2

from sailmesh.registry.model import TLS_MODE_ISTIO, TLS_MODE_LABEL, Service
from sailmesh.xds import names, pb, tls
from sailmesh.xds.cluster_policy import HTTP_PROTOCOL_OPTIONS
from sailmesh.xds.endpoints import spec_endpoints
from sailmesh.xds.gateway_tls import ads_sds_reference, credential_ca_name, credential_secret_name
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.peer_authn import DEFAULT_MODE, MtlsMode, namespace_mode
from sailmesh.xds.plan import ClusterSpec
from sailmesh.xds.scope import ProxyScope

_SA_MARK = "/sa/"
_NS_MARK = "/ns/"


def _is_h2(cluster: cluster_pb2.Cluster) -> bool:
    """Whether the cluster speaks HTTP/2 to its endpoints (Istio's ``isHttp2Cluster``)."""
    packed = cluster.typed_extension_protocol_options.get(HTTP_PROTOCOL_OPTIONS)
    if packed is None:
        return False
    options = hpo_pb2.HttpProtocolOptions()
    packed.Unpack(options)
    return bool(options.explicit_http_config.HasField("http2_protocol_options"))


def _account(uri: str) -> tuple[str, str] | None:
    """``(namespace, service account)`` of a SPIFFE id ``spiffe://<td>/ns/<ns>/sa/<sa>``."""
    if not uri.startswith(tls.SPIFFE_SCHEME) or _NS_MARK not in uri or _SA_MARK not in uri:
        return None
    path = uri[len(tls.SPIFFE_SCHEME) :].split("/", 1)[-1]
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != "ns" or parts[2] != "sa":
        return None
    return parts[1], parts[3]


def service_identities(scope: ProxyScope, service: Service) -> tuple[str, ...]:
    """The SPIFFE ids a server of ``service`` may present (sorted; memoized on the scope)."""
    memo: dict[tuple[str, str], tuple[str, ...]] = scope.memo.setdefault("service_sans", {})
    key = (service.hostname, service.namespace)
    found = memo.get(key)
    if found is not None:
        return found
    domains = scope.snapshot.mesh.trust_domains
    accounts: set[tuple[str, str]] = set()
    extra: set[str] = set()
    registry = scope.snapshot.registry
    for port in service.ports:
        for ep in registry.endpoints_for(service.hostname, port.port):
            parsed = _account(ep.service_account) if ep.service_account else None
            if parsed is not None:
                accounts.add(parsed)
    for name in service.subject_alt_names:
        parsed = _account(name)
        if parsed is None:
            extra.add(name)
        else:
            accounts.add(parsed)
    ids = {names.spiffe_id(d, ns, sa) for ns, sa in accounts for d in domains}
    found = memo[key] = tuple(sorted(ids | extra))
    return found


def _auto_mode(scope: ProxyScope, spec: ClusterSpec, cluster: cluster_pb2.Cluster) -> MtlsMode:
    """The mode a client assumes for the service (Istio's ``BestEffortInferServiceMTLSMode``)."""
    if cluster.type == cluster_pb2.Cluster.ORIGINAL_DST:
        endpoints = spec_endpoints(scope, spec)
        if not endpoints or any(
            ep.labels.get(TLS_MODE_LABEL) != TLS_MODE_ISTIO for ep in endpoints
        ):
            return "DISABLE"
    return namespace_mode(scope.snapshot, spec.service.namespace) or DEFAULT_MODE


def _istio_mutual(
    scope: ProxyScope, spec: ClusterSpec, cluster: cluster_pb2.Cluster, settings: Any
) -> Any:
    sni = getattr(settings, "sni", None) or names.outbound_sni(
        spec.port.port, spec.subset, spec.service.hostname
    )
    sans = getattr(settings, "subject_alt_names", None) or service_identities(scope, spec.service)
    return tls.istio_mutual_upstream(sni, sans, _is_h2(cluster))


def _auto_sni(cluster: cluster_pb2.Cluster, sni: bool, san: bool) -> None:
    """Send the request's host as SNI (``sni``) and check the server against it (``san``)."""
    if not (sni or san):
        return
    options = hpo_pb2.HttpProtocolOptions()
    packed = cluster.typed_extension_protocol_options.get(HTTP_PROTOCOL_OPTIONS)
    if packed is not None:
        packed.Unpack(options)
    if not options.WhichOneof("upstream_protocol_options"):
        options.explicit_http_config.http_protocol_options.SetInParent()
    options.upstream_http_protocol_options.auto_sni = sni
    options.upstream_http_protocol_options.auto_san_validation = san
    cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].CopyFrom(pb.pack(options))


def _originate(
    scope: ProxyScope, spec: ClusterSpec, cluster: cluster_pb2.Cluster, settings: Any
) -> None:
    sans = list(settings.subject_alt_names or [])
    if not sans and spec.service.origin.startswith("serviceentry/"):
        sans = list(service_identities(scope, spec.service))
    insecure = bool(settings.insecure_skip_verify)
    mutual = settings.mode == "MUTUAL"
    context = tls.originate_upstream(
        sni=settings.sni or "",
        sans=sans,
        ca_certificates=settings.ca_certificates or "",
        ca_crl=settings.ca_crl or "",
        insecure_skip_verify=insecure,
        client_certificate=(settings.client_certificate or "") if mutual else "",
        private_key=(settings.private_key or "") if mutual else "",
        h2=_is_h2(cluster),
    )
    if settings.credential_name and scope.proxy.type == "router":
        _credential_from_sds(context, settings.credential_name, mutual, insecure)
    cluster.transport_socket.CopyFrom(tls.transport_socket(context))
    no_sni = not settings.sni
    _auto_sni(cluster, no_sni, not settings.subject_alt_names and not insecure)


def _credential_from_sds(
    context: tls_pb2.UpstreamTlsContext, credential: str, mutual: bool, insecure: bool
) -> None:
    """A gateway's DestinationRule ``credentialName``: the client certificate
    (``kubernetes://<name>``, MUTUAL) and the CA (``kubernetes://<name>-cacert``) come over
    ADS from the Secret in the gateway's namespace instead of files (as Istio's gateways)."""
    common = context.common_tls_context
    if mutual:
        del common.tls_certificates[:]
        common.tls_certificate_sds_secret_configs.append(
            ads_sds_reference(credential_secret_name(credential))
        )
    if insecure:
        return
    checks = common_pb2.CertificateValidationContext()
    checks.CopyFrom(common.validation_context)
    checks.ClearField("trusted_ca")
    common.ClearField("validation_context")
    combined = common.combined_validation_context
    combined.default_validation_context.CopyFrom(checks)
    combined.validation_context_sds_secret_config.CopyFrom(
        ads_sds_reference(credential_ca_name(credential))
    )


def _auto_mtls(scope: ProxyScope, spec: ClusterSpec, cluster: cluster_pb2.Cluster) -> None:
    if not scope.snapshot.mesh.enable_auto_mtls:
        return  # meshConfig enableAutoMtls: false: plaintext unless a rule says ISTIO_MUTUAL
    if spec.service.mesh_external or _auto_mode(scope, spec, cluster) == "DISABLE":
        return
    mutual = tls.transport_socket(_istio_mutual(scope, spec, cluster, None))
    if cluster.type == cluster_pb2.Cluster.ORIGINAL_DST:
        cluster.transport_socket.CopyFrom(mutual)
        return
    cluster.transport_socket_matches.add(
        name=names.TLS_MODE_ISTIO_MATCH,
        match=pb.struct({names.TLS_MODE_KEY: TLS_MODE_ISTIO}),
        transport_socket=mutual,
    )
    plain = cluster.transport_socket_matches.add(
        name=names.TLS_MODE_DISABLED_MATCH, transport_socket=tls.raw_buffer_socket()
    )
    plain.match.SetInParent()  # {}: every endpoint


def apply_cluster_tls(
    cluster: cluster_pb2.Cluster,
    scope: ProxyScope,
    spec: ClusterSpec,
    options: TranslateOptions,
) -> None:
    """Set the transport socket(s) of ``cluster`` built from ``spec``."""
    settings = spec.policy.tls
    if settings is None:
        if options.sds:
            _auto_mtls(scope, spec, cluster)
        return
    if settings.mode == "ISTIO_MUTUAL":
        if options.sds:
            context = _istio_mutual(scope, spec, cluster, settings)
            cluster.transport_socket.CopyFrom(tls.transport_socket(context))
    elif settings.mode in ("SIMPLE", "MUTUAL"):
        _originate(scope, spec, cluster, settings)
