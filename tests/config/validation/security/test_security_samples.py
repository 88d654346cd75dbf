"""Valid security.istio.io samples load without errors: the seed documents' YAML and Istio's own
task YAML (bookinfo authorization, JWT, mTLS migration, ingress, ext-authz)."""

from __future__ import annotations

import pytest

from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text

SEED_SECURITY_POLICY = """
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default
  namespace: default
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: my-app-authz
  namespace: default
spec:
  selector:
    matchLabels:
      app: my-app
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/my-app-sa"]
    to:
    - operation:
        methods: ["GET", "POST"]
        paths: ["/api/*"]
  - from:
    - source:
        namespaces: ["monitoring"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/metrics", "/health"]
"""

SEED_BEST_PRACTICE_MTLS = """
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default
spec:
  mtls:
    mode: STRICT
"""

SEED_THEORY_GUIDE = """
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: productpage-policy
  namespace: default
spec:
  selector:
    matchLabels:
      app: productpage
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/api/v1/products*"]
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: rate-limit
spec:
  selector:
    matchLabels:
      app: productpage
  rules:
  - to:
    - operation:
        methods: ["GET"]
    when:
    - key: request.headers[x-user-id]
      values: ["*"]
    - key: request.auth.claims[iss]
      values: ["https://accounts.google.com"]
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: cart-mtls
  namespace: ecommerce
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: product-api-rate-limit
spec:
  selector:
    matchLabels:
      app: product-api
  rules:
  - to:
    - operation:
        methods: ["GET"]
    when:
    - key: request.headers[x-user-id]
      values: ["*"]
"""

SEED_ENTERPRISE = """
# Default deny-all authorization policy
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: deny-all-default
  namespace: production
spec:
  selector:
    matchLabels: {}  # Apply to all workloads
  rules: []  # No rules = deny all
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: payment-service-access
  namespace: production
spec:
  selector:
    matchLabels:
      app: payment-service
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/production/sa/order-service"]
    to:
    - operation:
        methods: ["POST"]
        paths: ["/api/v1/process-payment"]
  - from:
    - source:
        principals: ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/health", "/ready"]
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default-mtls
  namespace: istio-system
spec:
  mtls:
    mode: STRICT  # Enforce mTLS for all services
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: payment-service-mtls
  namespace: production
spec:
  selector:
    matchLabels:
      app: payment-service
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: STRICT
    9090:  # Metrics port
      mode: DISABLE
---
apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata:
  name: jwt-validation
  namespace: production
spec:
  selector:
    matchLabels:
      app: payment-service
  jwtRules:
  - issuer: "https://auth.ecommerce.com"
    jwksUri: "https://auth.ecommerce.com/.well-known/jwks.json"
    audiences:
    - "payment-api"
    - "ecommerce-api"
    forwardOriginalToken: true
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: payment-service-jwt-authz
  namespace: production
spec:
  selector:
    matchLabels:
      app: payment-service
  rules:
  - from:
    - source:
        requestPrincipals: ["https://auth.ecommerce.com/admin"]
    to:
    - operation:
        methods: ["GET", "POST", "PUT", "DELETE"]
  - from:
    - source:
        requestPrincipals: ["https://auth.ecommerce.com/user"]
    to:
    - operation:
        methods: ["GET", "POST"]
    when:
    - key: request.auth.claims[role]
      values: ["customer", "merchant"]
"""

ISTIO_AUTHZ_HTTP = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
  namespace: default
spec:
  {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "productpage-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: productpage
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "details-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: details
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "ratings-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: ratings
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-reviews"]
    to:
    - operation:
        methods: ["GET"]
"""

ISTIO_AUTHZ_REFERENCE = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: httpbin
  namespace: foo
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
    - source:
        namespaces: ["test"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/info*"]
    - operation:
        methods: ["POST"]
        paths: ["/data"]
    when:
    - key: request.auth.claims[iss]
      values: ["https://accounts.google.com"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: httpbin-deny
  namespace: foo
spec:
  action: DENY
  rules:
  - from:
    - source:
        notNamespaces: ["foo"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-all
  namespace: foo
spec:
  rules:
  - {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-method-get
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["GET"]
    when:
    - key: request.headers[x-token]
      notValues: ["admin"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-policy
  namespace: foo
spec:
  selector:
    matchLabels:
      app: tcp-echo
  action: ALLOW
  rules:
  - to:
    - operation:
        ports: ["9000", "9001"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ingress-policy
  namespace: istio-system
spec:
  selector:
    matchLabels:
      app: istio-ingressgateway
  action: ALLOW
  rules:
  - from:
    - source:
        remoteIpBlocks: ["1.2.3.4", "5.6.7.0/24", "2001:db8::/32"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: path-templates
  namespace: foo
spec:
  rules:
  - to:
    - operation:
        paths: ["/store/{*}/item", "/files/{**}"]
        hosts: ["*.example.com", "example.com"]
        notPorts: ["8443"]
    when:
    - key: destination.port
      values: ["8080"]
    - key: source.ip
      notValues: ["10.0.0.0/8"]
    - key: connection.sni
      values: ["*.example.com"]
    - key: experimental.envoy.filters.network.mysql_proxy[db.table]
      values: ["[update]"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: service-accounts
  namespace: foo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: httpbin
  rules:
  - from:
    - source:
        serviceAccounts: ["default/sleep", "foo/curl"]
"""

ISTIO_EXT_AUTHZ = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ext-authz
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: CUSTOM
  provider:
    name: sample-ext-authz-grpc
  rules:
  - to:
    - operation:
        paths: ["/headers"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: gateway-ext-authz
  namespace: istio-system
spec:
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: my-gateway
  action: CUSTOM
  provider:
    name: my-custom-authz
  rules:
  - to:
    - operation:
        paths: ["/admin/*"]
"""

ISTIO_SAMPLE_JWKS = (
    '{ "keys":[ {"e":"AQAB","kid":"DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ","kty"'
    ':"RSA","n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV'
    "_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoe"
    "JT_DwtGGcp4ignkgXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHS"
    "GZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0"
    'ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ"}]}'
)

ISTIO_JWT = f"""
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: "jwt-example"
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwksUri: "https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json"
    outputClaimToHeaders:
    - header: "x-jwt-claim-foo"
      claim: "foo"
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: ALLOW
  rules:
  - from:
    - source:
        requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]
    when:
    - key: request.auth.claims[groups]
      values: ["group1"]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: "jwt-example-ingress"
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwks: '{ISTIO_SAMPLE_JWKS}'
    fromHeaders:
    - name: Authorization
      prefix: "Bearer "
    - name: x-jwt-assertion
    fromParams: ["access_token"]
    fromCookies: ["session"]
    outputPayloadToHeader: x-jwt-payload
    forwardOriginalToken: true
    timeout: 5s
    spaceDelimitedClaims: ["scope", "permission"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: frontend-ingress
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  action: DENY
  rules:
  - from:
    - source:
        notRequestPrincipals: ["*"]
"""

ISTIO_MTLS_MIGRATION = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: "default"
  namespace: "istio-system"
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: "default"
  namespace: "foo"
spec:
  mtls:
    mode: PERMISSIVE
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: "httpbin"
  namespace: "bar"
spec:
  selector:
    matchLabels:
      app: httpbin
  mtls:
    mode: UNSET
  portLevelMtls:
    "80":
      mode: DISABLE
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: "finance"
  namespace: "foo"
spec:
  selector:
    matchLabels:
      app: finance
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: DISABLE
"""

SAMPLES = {
    "seed security-policy.yaml": (SEED_SECURITY_POLICY, 2),
    "seed best practice mTLS": (SEED_BEST_PRACTICE_MTLS, 1),
    "seed theory guide": (SEED_THEORY_GUIDE, 5),
    "seed enterprise security": (SEED_ENTERPRISE, 6),
    "istio authz http task": (ISTIO_AUTHZ_HTTP, 4),
    "istio authz reference": (ISTIO_AUTHZ_REFERENCE, 8),
    "istio ext-authz": (ISTIO_EXT_AUTHZ, 2),
    "istio jwt tasks": (ISTIO_JWT, 4),
    "istio mtls migration": (ISTIO_MTLS_MIGRATION, 4),
}


@pytest.mark.parametrize(("text", "count"), list(SAMPLES.values()), ids=list(SAMPLES))
def test_valid_sample_loads(text: str, count: int) -> None:
    result = load_text(text, "sample.yaml")
    errors = [str(p) for p in result.problems if p.level is Level.ERROR]
    assert not errors
    assert len(result.resources) == count


def test_seed_deny_all_default_only_warns_about_empty_selector() -> None:
    result = load_text(SEED_ENTERPRISE)
    warnings = [p for p in result.problems if p.level is Level.WARNING]
    assert [p.path for p in warnings] == ["spec.selector.matchLabels"]


def test_port_level_mtls_keys_are_ports() -> None:
    [pa] = [r for r in load_text(SEED_ENTERPRISE).resources if r.name == "payment-service-mtls"]
    assert {port: m.mode for port, m in pa.spec.port_level_mtls.items()} == {
        8080: "STRICT",
        9090: "DISABLE",
    }


def test_seed_mixer_rate_limit_snippet_is_rejected() -> None:
    # seed 000 shows a Mixer-era `action: [{handler, instances}]` block; no Istio kind has it.
    text = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: rate
spec:
  action:
    - handler: quotaHandler
      instances:
        - requestQuota
"""
    result = load_text(text)
    assert not result.resources
    assert any(p.path == "spec.action" for p in result.problems)
