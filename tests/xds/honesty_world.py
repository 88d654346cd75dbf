"""A small mesh for the honesty test of the not-enforced table: base documents per kind,
sample values per leaf field, and translation of a sidecar and a gateway to comparable bytes.

A *leaf* is a field of a typed model that holds a value (scalar, list of scalars, map);
message fields are walked into, lists of messages through their first item (``[*]``).
"""

from __future__ import annotations

import copy
import json
import types
import typing
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from xds_fixtures import bookinfo_services, bookinfo_workloads, productpage_proxy, service

from sailmesh.config.load import load_text
from sailmesh.config.models.base import Duration
from sailmesh.config.models.destinationrule import DestinationRuleSpec
from sailmesh.config.models.envoyfilter import EnvoyFilterSpec
from sailmesh.config.models.gateway import GatewaySpec, SidecarSpec
from sailmesh.config.models.ratelimit import RateLimitPolicySpec
from sailmesh.config.models.security import (
    AuthorizationPolicySpec,
    PeerAuthenticationSpec,
    RequestAuthenticationSpec,
)
from sailmesh.config.models.serviceentry import ServiceEntrySpec
from sailmesh.config.models.telemetry import TelemetrySpec
from sailmesh.config.models.virtualservice import VirtualServiceSpec
from sailmesh.config.resource import Resource
from sailmesh.config.unenforced import find_unenforced, split_pattern
from sailmesh.registry.convert import service_entry_inline_workloads, service_entry_services
from sailmesh.registry.model import frozen_map
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.generate import generate
from sailmesh.xds.options import TranslateOptions

#: Both proxies of the world have a workload identity over SDS, so TLS settings show.
OPTIONS = TranslateOptions(sds=True, traces=True)

SPECS: dict[str, type[BaseModel]] = {
    "VirtualService": VirtualServiceSpec,
    "DestinationRule": DestinationRuleSpec,
    "Gateway": GatewaySpec,
    "ServiceEntry": ServiceEntrySpec,
    "Sidecar": SidecarSpec,
    "AuthorizationPolicy": AuthorizationPolicySpec,
    "Telemetry": TelemetrySpec,
    "PeerAuthentication": PeerAuthenticationSpec,
    "RequestAuthentication": RequestAuthenticationSpec,
    "EnvoyFilter": EnvoyFilterSpec,
    "RateLimitPolicy": RateLimitPolicySpec,
}
API_VERSIONS = {
    "RateLimitPolicy": "sailmesh.io/v1alpha1",
    "PeerAuthentication": "security.istio.io/v1",
    "AuthorizationPolicy": "security.istio.io/v1",
    "RequestAuthentication": "security.istio.io/v1",
    "Telemetry": "telemetry.istio.io/v1",
    "EnvoyFilter": "networking.istio.io/v1alpha3",
}

_ROUTE = {"destination": {"host": "reviews", "subset": "v1", "port": {"number": 9080}}}
_ROUTE2 = {"destination": {"host": "reviews", "subset": "v2", "port": {"number": 9080}}}
_MATCH = {"uri": {"prefix": "/r"}}
_HTTP = {"match": [_MATCH], "route": [_ROUTE]}
_VS = {"hosts": ["reviews"], "gateways": ["mesh", "gw"]}
_TUNNEL = {"protocol": "CONNECT", "targetHost": "proxy.example.com", "targetPort": 3128}
_H2 = {"http": {"maxRetries": 3, "h2UpgradePolicy": "UPGRADE"}}
_OUTLIER = {"splitExternalLocalOriginErrors": True}
_MUTUAL = {"mode": "MUTUAL", "clientCertificate": "/etc/client.pem", "privateKey": "/etc/key.pem"}
_PORT_LEVEL = {"port": {"number": 9080}, "connectionPool": _H2, "outlierDetection": _OUTLIER,
               "tls": _MUTUAL}  # fmt: skip
_POLICY = {"tls": _MUTUAL, "portLevelSettings": [_PORT_LEVEL],
           "connectionPool": _H2, "outlierDetection": _OUTLIER}  # fmt: skip
_COOKIE = {"consistentHash": {"httpCookie": {"name": "c", "ttl": "1s", "attributes": [{"name": "SameSite", "value": "Lax"}]}, "ringHash": {"minimumRingSize": 1024}},
           "localityLbSetting": {"distribute": [{"from": "r1/*", "to": {"r2/*": 100}}]},
           "warmup": {"duration": "10s"}}  # fmt: skip
_MAGLEV = {"consistentHash": {"httpHeaderName": "x-user", "maglev": {"tableSize": 65537}},
           "localityLbSetting": {"failover": [{"from": "r1", "to": "r2"}]}}  # fmt: skip
_SOURCE_IP = {"consistentHash": {"useSourceIp": True}}
_WARMUP = {"simple": "ROUND_ROBIN", "warmup": {"duration": "10s"}}
_SUBSET = {"name": "v1", "labels": {"version": "v1"}}
_HTTP_SERVER = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
_HTTPS_SERVER = {
    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
    "hosts": ["*"],
    "tls": {"mode": "SIMPLE", "credentialName": "cred"},
}
_MUTUAL_SERVER = {**_HTTPS_SERVER, "tls": {"mode": "MUTUAL", "credentialName": "cred"}}
_FILES_SERVER = {
    **_HTTPS_SERVER,
    "tls": {"mode": "MUTUAL", "serverCertificate": "/c.pem", "privateKey": "/k.pem",
            "caCertificates": "/ca.pem"},
}  # fmt: skip
_PAIRS_SERVER = {
    **_HTTPS_SERVER,
    "tls": {"mode": "SIMPLE", "tlsCertificates": [{"serverCertificate": "/c.pem", "privateKey": "/k.pem"}]},
}  # fmt: skip
_EXT_PORTS = [{"number": 80, "name": "http", "protocol": "HTTP"}]
#: A Gateway API gateway's pods: the world's gateway proxy carries its name label (see ROUTER).
_TARGET = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}
_TEAM = {"match": {"metric": "REQUEST_COUNT"}, "tagOverrides": {"team": {"value": "'a'"}}}
_ERRORS = {"providers": [{"name": "envoy"}], "filter": {"expression": "response.code >= 400"}}
_HCM = "envoy.filters.network.http_connection_manager"
_HEADER = {
    "name": "envoy.filters.http.header_mutation",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
        "mutations": {"response_mutations": [{"remove": "x-a"}]},
    },
}
_INSPECTOR = {
    "name": "envoy.filters.listener.tls_inspector",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
    },
}
_EF_HTTP = {
    "applyTo": "HTTP_FILTER",
    "patch": {"operation": "INSERT_BEFORE", "value": _HEADER},
    "match": {
        "context": "ANY",
        "proxy": {"proxyVersion": "^1\\..*"},
        "listener": {
            "portNumber": 9080,
            "name": "0.0.0.0_9080",
            "filterChain": {
                "name": "0.0.0.0_9080",
                "filter": {"name": _HCM, "subFilter": {"name": "envoy.filters.http.router"}},
            },
        },
    },
}
_EF_INBOUND = {
    "applyTo": "HTTP_FILTER",
    "patch": {"operation": "INSERT_BEFORE", "value": _HEADER},
    "match": {
        "context": "SIDECAR_INBOUND",
        "listener": {
            "filterChain": {
                "destinationPort": 9080,
                "transportProtocol": "tls",
                "applicationProtocols": "istio",
                "filter": {"name": _HCM},
            }
        },
    },
}
_EF_LISTENER_FILTER = {
    "applyTo": "LISTENER_FILTER",
    "patch": {"operation": "INSERT_BEFORE", "value": _INSPECTOR},
    "match": {"listener": {"listenerFilter": "envoy.filters.listener.original_dst"}},
}
_EF_ROUTE = {
    "applyTo": "HTTP_ROUTE",
    "patch": {"operation": "MERGE", "value": {"name": "patched"}},
    "match": {
        "routeConfiguration": {
            "portNumber": 9080,
            "name": "9080",
            "vhost": {
                "name": "reviews.default.svc.cluster.local:9080",
                "domainName": "reviews",
                "route": {"action": "ROUTE"},
            },
        }
    },
}
_EF_GATEWAY_ROUTE = {
    "applyTo": "VIRTUAL_HOST",
    "patch": {"operation": "MERGE", "value": {"name": "patched"}},
    "match": {"context": "GATEWAY", "routeConfiguration": {"portNumber": 80}},
}
_EF_CLUSTER = {
    "applyTo": "CLUSTER",
    "patch": {"operation": "MERGE", "value": {"connect_timeout": "3s"}},
    "match": {"cluster": {"portNumber": 9080, "service": "reviews.default.svc.cluster.local"}},
}
_EF_ANY_CLUSTER = {
    "applyTo": "CLUSTER",
    "patch": {"operation": "MERGE", "value": {"connect_timeout": "3s"}},
    "match": {"context": "ANY"},
}
_GW_REF = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}

#: P-256 public keys (their private keys were not kept): valid inline key sets.
_JWKS = json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
                              "x": "IJZxyyuZyu4BMU-JOdNOdZNLdk8y5OKqvgrj6ffP8Bc",
                              "y": "lvbZsH1_p-gTbDu4F8WYyKPkNxx73XLsf987cjmNWPM"}]})  # fmt: skip
_JWKS2 = json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k2",
                               "x": "QlOuz7ZPRFOAvoSn-nR72iTZv8vERWzTLs2nfslQ96E",
                               "y": "A9Oiv5SXNQAkO9VnNRyBj61LGTm-L9zuVWHYDcJLPWk"}]})  # fmt: skip
_SERVICE_REF = {"group": "", "kind": "Service", "name": "reviews"}
_JWT_INLINE = {"issuer": "https://issuer.example.com", "jwks": _JWKS,
               "outputClaimToHeaders": [{"header": "x-sub", "claim": "sub"}]}  # fmt: skip
_JWT_URI = {"issuer": "https://issuer.example.com", "jwksUri": "http://reviews:9080/keys",
            "fromHeaders": [{"name": "x-token", "prefix": "Bearer "}], "timeout": "3s"}  # fmt: skip

#: Base specs per kind (several where oneofs and required companions need different shapes);
#: each must be valid (a test checks). A leaf is set on the first base that accepts it.
BASES: dict[str, list[dict[str, Any]]] = {
    "VirtualService": [
        {**_VS, "http": [{**_HTTP, "retries": {"attempts": 3}, "timeout": "5s",
                          "fault": {"delay": {"fixedDelay": "1s"}, "abort": {"httpStatus": 500}}}]},
        {**_VS, "http": [{"match": [_MATCH], "route": [{**_ROUTE, "weight": 50}, {**_ROUTE2, "weight": 50}]}]},
        {**_VS, "http": [{**_HTTP, "mirror": {"host": "ratings"}}]},
        {**_VS, "http": [{**_HTTP, "mirrors": [{"destination": {"host": "ratings"}}]}]},
        {**_VS, "http": [{**_HTTP, "rewrite": {"uriRegexRewrite": {"match": "^/r", "rewrite": "/x"}}}]},
        {**_VS, "http": [{"match": [_MATCH], "redirect": {"authority": "b.example.com"}}]},
        {**_VS, "http": [{"match": [_MATCH], "directResponse": {"status": 503}}]},
        {"hosts": ["reviews"], "http": [{"match": [_MATCH], "delegate": {"name": "other"}}]},
        {"hosts": ["mongo"], "tcp": [{"match": [{"port": 27017}], "route": [
            {"destination": {"host": "details", "port": {"number": 9080}}, "weight": 50},
            {"destination": {"host": "productpage", "port": {"number": 9080}}, "weight": 50}]}]},
        {"hosts": ["secure.default.svc.cluster.local", "*.example.com"], "tls": [
            {"match": [{"sniHosts": ["secure.default.svc.cluster.local"], "port": 443}],
             "route": [{"destination": {"host": "details", "port": {"number": 9080}}, "weight": 50},
                       {"destination": {"host": "productpage", "port": {"number": 9080}}, "weight": 50}]}]},
    ],
    "DestinationRule": [
        {"host": "reviews", "subsets": [_SUBSET]},
        {"host": "reviews", "trafficPolicy": _POLICY, "subsets": [{**_SUBSET, "trafficPolicy": _POLICY}]},
        *[{"host": "reviews",
           "trafficPolicy": {"loadBalancer": lb, "portLevelSettings": [{**_PORT_LEVEL, "loadBalancer": lb}]},
           "subsets": [{**_SUBSET, "trafficPolicy": {
               "loadBalancer": lb, "portLevelSettings": [{**_PORT_LEVEL, "loadBalancer": lb}]}}]}
          for lb in (_COOKIE, _MAGLEV, _SOURCE_IP, _WARMUP)],
        # tunnelling applies to TCP proxies: mongo's listener, and ROUTES_VS's route to v1
        {"host": "mongo", "trafficPolicy": {"tunnel": _TUNNEL},
         "subsets": [{**_SUBSET, "trafficPolicy": {"tunnel": _TUNNEL}}]},
    ],
    "Gateway": [
        {"selector": {"istio": "ingressgateway"}, "servers": [_HTTP_SERVER]},
        {"selector": {"istio": "ingressgateway"}, "servers": [_HTTPS_SERVER, _HTTP_SERVER]},
        {"selector": {"istio": "ingressgateway"}, "servers": [_FILES_SERVER]},
        {"selector": {"istio": "ingressgateway"}, "servers": [_MUTUAL_SERVER]},
        {"selector": {"istio": "ingressgateway"}, "servers": [_PAIRS_SERVER]},
    ],
    "ServiceEntry": [
        {"hosts": ["api.example.com"], "ports": _EXT_PORTS, "resolution": "STATIC", "location": "MESH_INTERNAL",
         "endpoints": [{"address": "192.0.2.10", "labels": {"security.istio.io/tlsMode": "istio"}}]},
        {"hosts": ["api.example.com"], "ports": _EXT_PORTS, "resolution": "STATIC",
         "endpoints": [{"address": "192.0.2.10", "ports": {"http": 8080}}]},
        {"hosts": ["api.example.com"], "ports": _EXT_PORTS, "resolution": "DNS"},
    ],
    "PeerAuthentication": [
        {"mtls": {"mode": "STRICT"}},
        {"selector": {"matchLabels": {"app": "productpage"}}, "mtls": {"mode": "STRICT"},
         "portLevelMtls": {"9080": {"mode": "PERMISSIVE"}}},
    ],
    "RequestAuthentication": [
        {"jwtRules": [_JWT_INLINE]},
        {"selector": {"matchLabels": {"app": "productpage"}}, "jwtRules": [_JWT_URI]},
        {"targetRef": _GW_REF, "jwtRules": [_JWT_URI]},
        {"targetRefs": [_GW_REF], "jwtRules": [_JWT_INLINE]},
        # last: waypoint targets (the policy applies nowhere; listed as not enforced)
        {"targetRef": _SERVICE_REF, "jwtRules": [_JWT_INLINE]},
        {"targetRefs": [_SERVICE_REF], "jwtRules": [_JWT_INLINE]},
    ],
    "EnvoyFilter": [
        {"workloadSelector": {"labels": {"app": "productpage"}}, "configPatches": [_EF_HTTP], "priority": 0},
        {"configPatches": [_EF_INBOUND]},
        {"configPatches": [_EF_LISTENER_FILTER]},
        {"configPatches": [_EF_ROUTE]},
        {"configPatches": [_EF_GATEWAY_ROUTE]},
        {"configPatches": [_EF_CLUSTER]},
        {"configPatches": [_EF_ANY_CLUSTER]},
        {"targetRefs": [_GW_REF], "configPatches": [_EF_ANY_CLUSTER]},
    ],
    "RateLimitPolicy": [
        {"selector": {"matchLabels": {"app": "productpage"}}, "limits": [
            {"name": "api", "requests": 5, "per": "1s", "perHeader": "x-user",
             "match": {"path": {"prefix": "/api"}, "method": "GET", "headers": {"x-a": {"exact": "b"}}}}]},
        {"limits": [{"name": "all", "requests": 5, "per": "1s"}]},
    ],
    "Sidecar": [
        {"egress": [{"hosts": ["./reviews.default.svc.cluster.local"]}]},
        {"egress": [{"port": {"number": 9080, "name": "http", "protocol": "HTTP"}, "hosts": ["./*"]}]},
        {"ingress": [{"port": {"number": 9443, "name": "https", "protocol": "HTTPS"},
                      "defaultEndpoint": "127.0.0.1:9080",
                      "tls": {"mode": "SIMPLE", "serverCertificate": "/c.pem", "privateKey": "/k.pem"}}]},
        {"ingress": [{"port": {"number": 9443, "name": "https", "protocol": "HTTPS"},
                      "defaultEndpoint": "127.0.0.1:9080",
                      "tls": {"mode": "MUTUAL", "serverCertificate": "/c.pem", "privateKey": "/k.pem",
                              "caCertificates": "/ca.pem"}}]},
        {"ingress": [{"port": {"number": 9080, "name": "http", "protocol": "HTTP"},
                      "defaultEndpoint": "127.0.0.1:9080"}], "egress": [{"hosts": ["./*"]}]},
        {"ingress": [{"port": {"number": 9443, "name": "https", "protocol": "HTTPS"},
                      "defaultEndpoint": "127.0.0.1:9080", "tls": {"mode": "SIMPLE", "credentialName": "cred"}}],
         "egress": [{"hosts": ["./*"]}]},
        {"ingress": [{"port": {"number": 9443, "name": "https", "protocol": "HTTPS"},
                      "defaultEndpoint": "127.0.0.1:9080", "tls": {"mode": "SIMPLE", "credentialNames": ["a"]}}]},
        {"ingress": [{"port": {"number": 9090, "name": "grpc", "protocol": "GRPC"},
                      "defaultEndpoint": "0.0.0.0:9091", "captureMode": "NONE", "bind": "10.244.0.14"}],
         "inboundConnectionPool": {"http": {"idleTimeout": "5s"}}},
        {"ingress": [{"port": {"number": 9090, "name": "grpc", "protocol": "GRPC"},
                      "defaultEndpoint": "127.0.0.1:9091",
                      "connectionPool": {"http": {"maxConcurrentStreams": 10}}}]},
        {"ingress": [{"port": {"number": 9443, "name": "https", "protocol": "HTTPS"},
                      "defaultEndpoint": "127.0.0.1:9080",
                      "tls": {"mode": "SIMPLE", "tlsCertificates": [{"serverCertificate": "/c.pem",
                                                                     "privateKey": "/k.pem"}]}}]},
        {"outboundTrafficPolicy": {"mode": "ALLOW_ANY", "egressProxy": {"host": "egress.example.com",
                                                                       "port": {"number": 80}}}},
    ],
    "AuthorizationPolicy": [
        {"selector": {"matchLabels": {"app": "productpage"}}, "action": "ALLOW",
         "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/a/sa/b"]}}],
                    "to": [{"operation": {"methods": ["GET"]}}],
                    "when": [{"key": "request.headers[x-a]", "values": ["v"]}]}]},
        {"targetRef": _TARGET, "action": "DENY", "rules": [{}]},
        {"targetRefs": [_TARGET], "action": "DENY", "rules": [{}]},
        {"targetRef": {"kind": "Service", "name": "reviews"}, "action": "DENY", "rules": [{}]},
        {"targetRefs": [{"kind": "Service", "name": "reviews"}], "action": "DENY", "rules": [{}]},
        {"action": "CUSTOM", "provider": {"name": "p"}, "rules": [{"to": [{"operation": {"paths": ["/x"]}}]}]},
    ],
    "Telemetry": [
        {"metrics": [{"overrides": [_TEAM]}]},
        {"selector": {"matchLabels": {"app": "productpage"}}, "metrics": [{"overrides": [_TEAM]}]},
        {"accessLogging": [_ERRORS]},
        {"targetRef": {"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"},
         "metrics": [{"overrides": [_TEAM]}]},
        {"targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"}],
         "metrics": [{"overrides": [_TEAM]}]},
        {"targetRef": {"kind": "Service", "name": "productpage"}, "metrics": [{"overrides": [_TEAM]}]},
        {"targetRefs": [{"kind": "Service", "name": "productpage"}], "metrics": [{"overrides": [_TEAM]}]},
        {"tracing": [{"providers": [{"name": "zipkin"}], "randomSamplingPercentage": 10.0}],
         "metrics": [{"overrides": [_TEAM]}]},
    ],
}  # fmt: skip

#: Candidate values by field name (Python name), tried in order until the document is valid.
NAMED: dict[str, list[Any]] = {
    "host": ["ratings", "ratings.default.svc.cluster.local"],
    "hosts": [["ratings"], ["istio-system/*"], ["ratings.example.com"]],
    "subset": ["v2"],
    "name": ["n2", "v2"],
    "number": [9081, 1234],
    "port": [9081, 1234],
    "protocol": ["TCP", "HTTP2", "POST"],
    "weight": [7],
    "status": [418],
    "redirect_code": [307],
    "http_status": [418],
    "grpc_status": ["UNAVAILABLE"],
    "http2_error": ["REFUSED_STREAM"],
    "retry_on": ["5xx"],
    "uri": ["/x"],
    "authority": ["a.example.com"],
    "scheme": ["https"],
    "exact": ["/e"],
    "prefix": ["/p"],
    "regex": ["^/x.*"],
    "string": ["body"],
    "bytes": ["Ym9keQ=="],
    "match": ["^/m(.*)"],
    "rewrite": ["/n\\1"],
    "gateways": [["other-gw"]],
    "export_to": [["other-ns"]],
    "source_namespace": ["other-ns"],
    "sni_hosts": [["other.example.com"]],
    "destination_subnets": [["10.0.0.0/8"]],
    "source_subnet": ["10.0.0.0/8"],
    "addresses": [["240.0.0.9"], ["240.0.1.0/24"]],
    "address": ["192.0.2.99"],
    "bind": ["127.0.0.2"],
    "default_endpoint": ["127.0.0.1:9081", "unix:///var/run/a.sock"],
    "allow_origins": [[{"exact": "https://a.example.com"}]],
    "allow_origin": [["https://a.example.com"]],
    "allow_methods": [["GET"]],
    "allow_headers": [["x-a"]],
    "expose_headers": [["x-a"]],
    "remove": [["x-r"]],
    "labels": [{"version": "v2"}],
    "match_labels": [{"app": "other"}],
    "selector": [{"istio": "other"}],
    "locality": ["r1/z1/s1"],
    "network": ["net2"],
    "service_account": ["sa2"],
    "credential_name": ["cred"],
    "credential_names": [["cred"]],
    "subject_alt_names": [["spiffe://cluster.local/ns/default/sa/x"]],
    "sni": ["x.example.com"],
    "server_certificate": ["/etc/c.pem"],
    "private_key": ["/etc/k.pem"],
    "client_certificate": ["/etc/c.pem"],
    "ca_certificates": ["/etc/ca.pem"],
    "ca_crl": ["/etc/crl.pem"],
    "ca_cert_credential_name": ["cred-ca"],
    "verify_certificate_spki": [["YWJj"]],
    "verify_certificate_hash": [["ab:cd"]],
    "cipher_suites": [["ECDHE-RSA-AES128-GCM-SHA256"]],
    "target_host": ["proxy.example.com"],
    "target_port": [3128, 8081],
    "http_header_name": ["x-user"],
    "http_query_parameter_name": ["user"],
    "path": ["/c"],
    "table_size": [1031],
    "minimum_ring_size": [2048],
    "max_ejection_percent": [20],
    "min_health_percent": [30],
    "outlier_detection_http_error_codes": [[500]],
    "failover_priority": [["version=v2"], ["topology.kubernetes.io/region"]],
    "to": [{"r3/*": 100}, "r3"],
    "from_": ["r1/*", "r1"],
    "minimum_percent": [20.0],
    "aggression": [2.0],
    "percent": [20, 20.0],
    "ports": [{"http": 8081}, ["9081"]],
    "not_ports": [["9081"]],
    "ip_blocks": [["10.0.0.0/8"]],
    "not_ip_blocks": [["10.0.0.0/8"]],
    "remote_ip_blocks": [["10.0.0.0/8"]],
    "not_remote_ip_blocks": [["10.0.0.0/8"]],
    "service_accounts": [["default/sa"]],
    "not_service_accounts": [["default/sa"]],
    "key": ["request.headers[x-b]"],
    "value": [20.0],
    "stat_prefix": ["sp"],
    "tag_overrides": [
        {"team": {"value": "request.headers['x-team']"}},
        {"request_protocol": {"operation": "REMOVE"}},
    ],
    "expression": ["response.code >= 500"],
    "kind": ["GatewayClass"],
    "group": ["core", ""],
    "custom_tags": [{"t": {"literal": {"value": "v"}}}],
    "random_sampling_percentage": [20.0],
    "method": ["POST"],
    "port_level_mtls": [{"9080": {"mode": "DISABLE"}}, {"9080": {"mode": "STRICT"}}],
    "issuer": ["https://other.example.com"],
    "jwks": [_JWKS2],
    "audiences": [["aud-2"]],
    "jwks_uri": ["http://ratings:9080/keys", "https://keys.example.com/jwks.json"],
    "from_params": [["tok"]],
    "from_cookies": [["session"]],
    "output_payload_to_header": ["x-payload"],
    "claim": ["org.team"],
    "space_delimited_claims": [["roles"]],
}
_BY_TYPE: dict[Any, list[Any]] = {
    bool: [True, False],
    int: [7],
    float: [20.0],
    str: ["s"],
    Duration: ["7s"],
}


def _strip_none(ann: Any) -> Any:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return args[0] if len(args) == 1 else ann
    return ann


def _model(ann: Any) -> type[BaseModel] | None:
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def leaves(model: type[BaseModel], prefix: str = "spec") -> Iterator[tuple[str, str, Any, Any]]:
    """``(path pattern, python field name, annotation, default)`` of every leaf of ``model``."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}"
        ann = _strip_none(info.annotation)
        inner = typing.get_args(ann)[0] if typing.get_origin(ann) is list else None
        if _model(ann) is not None:
            yield from leaves(ann, path)
        elif inner is not None and _model(inner) is not None:
            yield from leaves(inner, path + "[*]")
        else:
            yield path, name, ann, info.default


def candidates(name: str, ann: Any, default: Any = None) -> list[Any]:
    """Values to try for a leaf: by field name, then by type (Literals: non-default members)."""
    out = list(NAMED.get(name, []))
    origin = typing.get_origin(ann)
    if origin is Literal:
        out += [v for v in reversed(typing.get_args(ann)) if v not in (default, "UNSPECIFIED")]
    elif origin is list:
        out += [[v] for v in _BY_TYPE.get(typing.get_args(ann)[0], ["s"])]
    elif origin is dict:
        value = typing.get_args(ann)[1]
        out += [{"x-k": {"exact": "v"}}] if _model(value) else [{"k": "v"}, {"k": 7}]
    else:
        out += _BY_TYPE.get(ann, [])
    unique: list[Any] = []
    for value in out:
        if value not in unique:
            unique.append(value)
    return unique


def with_value(
    spec: dict[str, Any], pattern: str, value: Any, alone: bool = False
) -> dict[str, Any]:
    """A copy of ``spec`` with the leaf at ``pattern`` (``[*]`` -> item 0) set to ``value``;
    ``alone``: the leaf replaces its siblings (members of a oneof)."""
    out = copy.deepcopy(spec)
    node: Any = out
    segments = split_pattern(pattern)[1:]
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        nxt = segments[i + 1] if not last else None
        if seg == "[*]":
            if not node:
                node.append([] if nxt == "[*]" else {})
            if last:
                node[0] = value
            node = node[0]
            continue
        if last:
            if alone:
                node.clear()
            node[seg] = value
        else:
            node = node.setdefault(seg, [] if nxt == "[*]" else {})
    return out


def depth(spec: dict[str, Any], pattern: str) -> int:
    """How many segments of ``pattern`` (item 0 of lists) ``spec`` already holds."""
    node: Any = spec
    for n, seg in enumerate(split_pattern(pattern)[1:]):
        if seg == "[*]":
            if not isinstance(node, list) or not node:
                return n
            node = node[0]
        elif isinstance(node, dict) and seg in node:
            node = node[seg]
        else:
            return n
    return len(split_pattern(pattern))


def without(spec: dict[str, Any], pattern: str) -> dict[str, Any]:
    """A copy of ``spec`` without the leaf at ``pattern`` (item 0 of lists)."""
    out = copy.deepcopy(spec)
    node: Any = out
    *parents, leaf = split_pattern(pattern)[1:]
    for seg in parents:
        node = node[0] if seg == "[*]" else node[seg]
    del node[leaf]
    return out


def document(kind: str, spec: dict[str, Any], name: str = "r") -> str:
    api = API_VERSIONS.get(kind, "networking.istio.io/v1")
    meta = {"name": name, "namespace": "default", "creationTimestamp": "2024-01-01T00:00:00Z"}
    # JSON is YAML, and much faster to write than YAML proper.
    return json.dumps({"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec})


def load(kind: str, spec: dict[str, Any], name: str | None = None) -> Resource | None:
    """The resource, or None when validation rejects it."""
    result = load_text(document(kind, spec, name or NAMES.get(kind, "r")))
    return result.resources[0] if result.ok and result.resources else None


NAMES = {"Gateway": "gw"}
GATEWAY = {"selector": {"istio": "ingressgateway"},
           "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}  # fmt: skip
ROUTES_VS = {"hosts": ["reviews", "ratings"], "gateways": ["mesh", "gw"],
             "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]}  # fmt: skip
#: Routes mongo's TCP traffic to subset v1 (the DestinationRule bases' subset tunnel shows).
MONGO_VS = {"hosts": ["mongo"], "tcp": [{"match": [{"port": 27017, "sourceLabels": {"app": "productpage"}}],
             "route": [{"destination": {"host": "mongo", "subset": "v1"}}]}]}  # fmt: skip
SUBSETS_DR = {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                             {"name": "v2", "labels": {"version": "v2"}}]}  # fmt: skip
#: The delegate the VirtualService bases' ``delegate: {name: other}`` hands routes to.
DELEGATE_VS = {"http": [{"route": [{"destination": {"host": "ratings"}}]}]}
ROUTER = Proxy(
    type="router",
    ip="10.244.0.50",
    pod_name="istio-ingressgateway-1",
    namespace="default",
    # (the label Istio's deployment controller puts on a Gateway API gateway named ``gw``)
    labels=frozen_map({"istio": "ingressgateway", "gateway.networking.k8s.io/gateway-name": "gw"}),
)
#: The world's mesh config: an ext_authz provider (``n2``, a name the leaf values try) so that
#: a CUSTOM policy's ``provider.name`` can name a known provider or an unknown one.
MESH = {"extensionProviders": [
    {"name": "n2", "envoyExtAuthzHttp": {"service": "details.default.svc.cluster.local", "port": 9080}}]}  # fmt: skip


@cache
def context(kind: str) -> tuple[Resource, ...]:
    """The other objects of the world (the kind under test is left to the caller)."""
    others = {"Gateway": GATEWAY, "VirtualService": ROUTES_VS, "DestinationRule": SUBSETS_DR}
    out = []
    for other, spec in others.items():
        if other != kind:
            found = load(other, spec)
            assert found is not None, other
            out.append(found)
    if kind == "Sidecar":  # Istio terminates an ingress listener's own TLS only without mTLS
        plain = load("PeerAuthentication", _INGRESS_TLS_PORT_PLAIN)
        assert plain is not None
        out.append(plain)
    if kind == "DestinationRule":
        mongo = load("VirtualService", MONGO_VS, "mongo")
        assert mongo is not None
        out.append(mongo)
    if kind == "VirtualService":
        delegate = load("VirtualService", DELEGATE_VS, "other")
        assert delegate is not None
        out.append(delegate)
    return tuple(out)


_INGRESS_TLS_PORT_PLAIN = {"selector": {"matchLabels": {"app": "productpage"}},
                           "portLevelMtls": {"9443": {"mode": "DISABLE"}}}  # fmt: skip


@cache
def _services() -> tuple[Any, ...]:
    return (*bookinfo_services(), service("mongo", 27017, "TCP", "10.96.0.30"),
            service("secure", 443, "TLS", "10.96.0.31"))  # fmt: skip


#: Localities of the world (so that locality load balancing has something to do): the
#: productpage proxy in r1/z1, reviews v1, v2 and v3 in r1/z1, r2/z1 and r3/z1.
PROXY_LOCALITY = "r1/z1"
_LOCALITIES = {"reviews-v1": "r1/z1", "reviews-v2": "r2/z1", "reviews-v3": "r3/z1"}


def located_workloads() -> list[Any]:
    return [replace(w, locality=_LOCALITIES.get(w.name, "")) for w in bookinfo_workloads()]


def translate(resources: list[Resource]) -> dict[str, dict[str, dict[str, bytes]]]:
    """CDS/EDS/LDS/RDS of productpage's sidecar and the ingress gateway, as bytes."""
    entries = [r for r in resources if r.kind == "ServiceEntry"]
    services = [*_services()]
    services += [s for se in entries for s in service_entry_services(se)]
    workloads = located_workloads()
    workloads += [w for se in entries for w in service_entry_inline_workloads(se)]
    snap = MeshSnapshot.build(
        resources, compute_view(services, workloads), MeshConfig.from_dict(MESH)
    )
    out: dict[str, dict[str, dict[str, bytes]]] = {}
    sidecar = productpage_proxy(locality=PROXY_LOCALITY)
    for label, proxy in (("sidecar", sidecar), ("gateway", ROUTER)):
        for type_url, found in generate(proxy, snap, options=OPTIONS).items():
            out[f"{label} {type_url.rsplit('.', 1)[-1]}"] = {
                name: msg.SerializeToString(deterministic=True) for name, msg in found.items()
            }
    return out


def listed(resource: Resource, path: str) -> bool:
    """Whether the table covers the concrete ``path`` (a use at it or at a parent of it)."""
    for use in find_unenforced(resource):
        if path == use.path or path.startswith((use.path + ".", use.path + "[")):
            return True
    return False


def concrete(pattern: str) -> str:
    return pattern.replace("[*]", "[0]")


def mesh_translate(mesh_config: dict[str, Any]) -> Any:
    """The world's output under ``meshConfig`` as sailmesh reads it (with a Sidecar in the
    namespace ``mesh-root``, which ``rootNamespace: mesh-root`` makes the mesh's default), for
    proxies that log to stdout unless the mesh says otherwise (the local runtime's)."""
    from sailmesh.snapshot.mesh import MeshConfig
    from sailmesh.xds.options import TranslateOptions

    sidecar = {"egress": [{"hosts": ["istio-system/*"]}]}
    (root,) = load_text(document("Sidecar", sidecar).replace('"default"', '"mesh-root"')).resources
    resources = [*context("none"), root]
    snap = MeshSnapshot.build(resources, compute_view(_services(), located_workloads()),
                              MeshConfig.from_dict(mesh_config))  # fmt: skip
    out = {}
    options = TranslateOptions(access_log_path="/dev/stdout", sds=True, traces=True)
    sidecar = productpage_proxy(locality=PROXY_LOCALITY)
    for label, proxy in (("sidecar", sidecar), ("gateway", ROUTER)):
        for type_url, found in generate(proxy, snap, options=options).items():
            out[f"{label} {type_url}"] = {
                name: msg.SerializeToString(deterministic=True) for name, msg in found.items()
            }
    return out
