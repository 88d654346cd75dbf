"""Golden files of the generated jwt_authn filters and claim routes (``tests/xds/golden/jwt``;
refresh with ``SAILMESH_UPDATE_GOLDEN=1``), and real Envoy accepting them (``--mode validate``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import xds_fixtures as fx
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import json_format
from xds_envoy_static import assert_envoy_accepts

from config_support.manifests import manifests
from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import LISTENER, ROUTE
from sailmesh.xds.translate import translate

GOLDEN = Path(__file__).parent / "golden" / "jwt"
JWKS = (
    '{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", '
    '"x": "IJZxyyuZyu4BMU-JOdNOdZNLdk8y5OKqvgrj6ffP8Bc", '
    '"y": "lvbZsH1_p-gTbDu4F8WYyKPkNxx73XLsf987cjmNWPM"}]}'
)
GATEWAY = Proxy(
    type="router",
    ip="10.244.0.50",
    pod_name="istio-ingressgateway-1",
    namespace="istio-system",
    labels=frozen_map({"istio": "ingressgateway"}),
)

SIDECAR_POLICY = manifests(f"""
RequestAuthentication default/productpage
  selector: {{matchLabels: {{app: productpage}}}}
  jwtRules:
  - issuer: https://issuer.example.com
    audiences: [bookinfo]
    jwks: '{JWKS}'
    fromHeaders: [{{name: x-token, prefix: "Token "}}]
    fromParams: [tok]
    fromCookies: [session]
    forwardOriginalToken: true
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders: [{{header: x-jwt-sub, claim: sub}}]
    spaceDelimitedClaims: [roles]
""")

GATEWAY_POLICY = manifests(f"""
RequestAuthentication istio-system/ingress
  selector: {{matchLabels: {{istio: ingressgateway}}}}
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: http://reviews.default:9080/jwks.json
    timeout: 2s
  - issuer: https://issuer.example.com
    jwks: '{JWKS}'
---
Gateway istio-system/ingress
  selector: {{istio: ingressgateway}}
  servers: [{{port: {{number: 8080, name: http, protocol: HTTP}}, hosts: ["*"]}}]
---
VirtualService default/claims
  hosts: ["*"]
  gateways: [istio-system/ingress]
  http:
  - match:
    - headers: {{"@request.auth.claims.groups": {{exact: group1}}}}
    route: [{{destination: {{host: reviews, subset: v2}}}}]
  - match:
    - uri: {{prefix: /ratings}}
      withoutHeaders: {{"@request.auth.claims.sub": {{}}}}
    route: [{{destination: {{host: ratings}}}}]
  - route: [{{destination: {{host: reviews, subset: v1}}}}]
""")

DESTINATION_RULES = manifests("""
DestinationRule default/reviews
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
""")

CASES: dict[str, tuple[Proxy, str]] = {
    "sidecar_inline_keys": (fx.productpage_proxy(), SIDECAR_POLICY),
    "gateway_remote_keys_and_claim_routes": (GATEWAY, GATEWAY_POLICY),
}


def snapshot(case: str) -> MeshSnapshot:
    return fx.snapshot(fx.config(CASES[case][1], DESTINATION_RULES))


def jwt_filters(listener: Any) -> list[dict[str, Any]]:
    found = []
    for chain in listener.filter_chains:
        for f in chain.filters:
            if not f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
                continue
            hcm = hcm_pb2.HttpConnectionManager()
            f.typed_config.Unpack(hcm)
            found += [
                {"chain": chain.name, **json_format.MessageToDict(h)}
                for h in hcm.http_filters
                if h.name == "envoy.filters.http.jwt_authn"
            ]
    return found


def render(case: str) -> dict[str, Any]:
    proxy, _ = CASES[case]
    resources = translate(proxy, snapshot(case))
    return {
        "jwt_authn": {
            name: jwt_filters(listener)
            for name, listener in sorted(resources[LISTENER].items())
            if jwt_filters(listener)
        },
        "routes": {
            name: json_format.MessageToDict(config)
            for name, config in sorted(resources.get(ROUTE, {}).items())
            if b"jwt_authn" in config.SerializeToString()
        },
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    output = render(case)
    assert output["jwt_authn"], "no jwt_authn filter generated"
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written")
    assert json.loads(path.read_text()) == output, (
        f"{path.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_envoy_accepts_the_generated_config(case: str, tmp_path: Path) -> None:
    proxy, _ = CASES[case]
    assert_envoy_accepts(translate(proxy, snapshot(case)), tmp_path)
