"""`x describe` from config alone: mTLS mode and authorization as the policies say (and that
sailmesh does not enforce them yet), a route to a subset no DestinationRule defines, a pod
without a sidecar."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.load import load_text
from sailmesh.config.unenforced import find_unenforced
from sailmesh.xds.describe import describe_pod, render_matches

MESH = manifests("""\
apiVersion: v1
kind: Service
metadata: {name: ratings}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: ratings-0, labels: {app: ratings, version: v1}}
spec: {containers: [{name: ratings, image: r}, {name: istio-proxy, image: e}]}
---
apiVersion: v1
kind: Pod
metadata: {name: plain-0, labels: {app: plain}}
spec: {containers: [{name: app, image: a}]}
---
PeerAuthentication istio-system/default
  mtls: {mode: PERMISSIVE}
---
PeerAuthentication ratings-strict
  selector: {matchLabels: {app: ratings}}
  mtls: {mode: STRICT}
  portLevelMtls: {9080: {mode: DISABLE}}
---
AuthorizationPolicy allow-get
  selector: {matchLabels: {app: ratings}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
VirtualService ratings
  hosts: [ratings]
  http: [{route: [{destination: {host: ratings, subset: v1}}]}]
""")


def context() -> AnalysisContext:
    result = load_text(MESH, "mesh.yaml")
    assert result.ok, result.problems
    return AnalysisContext(result.resources, live=True)


def test_security_from_config_and_what_is_not_enforced() -> None:
    ctx = context()
    pod = next(w for w in ctx.workloads if w.name == "ratings-0")
    lines = describe_pod(ctx, pod)
    at = lines.index("Effective PeerAuthentication:")
    assert lines[at + 1 : at + 5] == [
        "   Workload mTLS mode: STRICT",
        "   Port 9080 mTLS mode: DISABLE",
        "Applied PeerAuthentication:",
        "   ratings-strict.default, default.istio-system",
    ]
    assert "   ALLOW default/allow-get (1 rule(s))" in lines
    for kind in ("PeerAuthentication", "AuthorizationPolicy"):
        (policy,) = [r for r in ctx.of_kind(kind) if r.namespace == "default"]
        reasons = [u.entry.reason for u in find_unenforced(policy) if u.path == "spec"]
        for reason in reasons:  # whatever is not enforced yet is said next to the policy
            assert f"   (accepted, not enforced yet: {reason})" in lines


def test_route_to_undefined_subset_and_pod_without_sidecar() -> None:
    ctx = context()
    pod = next(w for w in ctx.workloads if w.name == "ratings-0")
    lines = describe_pod(ctx, pod)
    at = lines.index("VirtualService: ratings")
    assert lines[at + 1 : at + 3] == [
        "   WARNING: No destinations match pod subsets (checked 1 HTTP routes)",
        "      Warning: Route to subset v1 but NO DESTINATION RULE defining subsets!",
    ]
    plain = next(w for w in ctx.workloads if w.name == "plain-0")
    assert "WARNING: plain-0.default is not part of mesh; no Istio sidecar" in describe_pod(
        ctx, plain
    )


def test_match_rendering() -> None:
    (vs,) = load_text(
        manifests("""\
VirtualService r
  hosts: [r]
  http:
  - match: [{uri: {prefix: /api}, method: {exact: POST}}, {headers: {x-user: {prefix: a}}}]
    route: [{destination: {host: r}}]
""")
    ).resources
    assert render_matches(vs.spec.http[0].match) == "/api* method POST, when headers are x-user=a"
    assert render_matches([]) == "everything"
