"""Table tests for the Kubernetes kinds: what the API server (and Istio, for the injection label)
would reject or warn about, each at its field path."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def obj(kind: str, body: dict[str, Any], name: str = "x", api: str = "v1", **meta: Any) -> str:
    data = {"apiVersion": api, "kind": kind, "metadata": {"name": name, **meta}, **body}
    return yaml.safe_dump(data, sort_keys=False)


def problems(text: str, level: Level) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in load_text(text).problems if p.level is level]


def service(**spec: Any) -> str:
    base: dict[str, Any] = {"selector": {"app": "a"}, "ports": [{"port": 80, "name": "http"}]}
    return obj("Service", {"spec": {**base, **spec}})


DEPLOYMENT: dict[str, Any] = {
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "a"}},
        "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {
                "containers": [{"name": "app", "image": "img", "ports": [{"containerPort": 8080}]}]
            },
        },
    }
}


def deployment(edit: Any = None) -> str:
    body = copy.deepcopy(DEPLOYMENT)
    if edit is not None:
        edit(body["spec"])
    return obj("Deployment", body, api="apps/v1")


def container(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = spec["template"]["spec"]["containers"][0]
    return result


C0 = "spec.template.spec.containers[0]"

INVALID: list[tuple[str, str, str, str]] = [
    # --- Service
    (
        "port out of range",
        service(ports=[{"port": 70000}]),
        "spec.ports[0].port",
        "between 1 and 65535",
    ),
    ("port zero", service(ports=[{"port": 0}]), "spec.ports[0].port", "between 1 and 65535"),
    (
        "port missing",
        service(ports=[{"name": "http"}]),
        "spec.ports[0].port",
        "required field is missing",
    ),
    (
        "names required with two ports",
        service(ports=[{"port": 80, "name": "http"}, {"port": 443}]),
        "spec.ports[1].name",
        "required when a Service has more than one port",
    ),
    (
        "duplicate port names",
        service(ports=[{"port": 80, "name": "http"}, {"port": 81, "name": "http"}]),
        "spec.ports[1].name",
        "duplicate port name",
    ),
    (
        "duplicate ports",
        service(ports=[{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]),
        "spec.ports[1].port",
        "duplicate port 80/TCP",
    ),
    (
        "port name syntax",
        service(ports=[{"port": 80, "name": "HTTP_Web"}]),
        "spec.ports[0].name",
        "RFC 1123 label",
    ),
    (
        "targetPort range",
        service(ports=[{"port": 80, "targetPort": 0}]),
        "spec.ports[0].targetPort",
        "between 1",
    ),
    (
        "targetPort quoted number",
        service(ports=[{"port": 80, "targetPort": "8080"}]),
        "spec.ports[0].targetPort",
        "without quotes",
    ),
    (
        "targetPort bad name",
        service(ports=[{"port": 80, "targetPort": "http_web"}]),
        "spec.ports[0].targetPort",
        "invalid port name",
    ),
    (
        "targetPort name too long",
        service(ports=[{"port": 80, "targetPort": "a" * 16}]),
        "spec.ports[0].targetPort",
        "at most 15",
    ),
    (
        "protocol enum",
        service(ports=[{"port": 80, "protocol": "HTTP"}]),
        "spec.ports[0].protocol",
        "must be one of",
    ),
    ("type enum", service(type="Internal"), "spec.type", "must be one of"),
    (
        "nodePort with ClusterIP",
        service(ports=[{"port": 80, "nodePort": 30080}]),
        "spec.ports[0].nodePort",
        "may not be used when type is 'ClusterIP'",
    ),
    (
        "nodePort range",
        service(type="NodePort", ports=[{"port": 80, "nodePort": 70000}]),
        "spec.ports[0].nodePort",
        "between 1 and 65535",
    ),
    (
        "no ports",
        obj("Service", {"spec": {"selector": {"app": "a"}}}),
        "spec.ports",
        "at least one port",
    ),
    (
        "external name missing",
        obj("Service", {"spec": {"type": "ExternalName"}}),
        "spec.externalName",
        "required for type ExternalName",
    ),
    ("clusterIP syntax", service(clusterIP="10.0.0"), "spec.clusterIP", "invalid IP address"),
    (
        "selector label value",
        service(selector={"app": "a b"}),
        "spec.selector.app",
        "invalid label value",
    ),
    (
        "service name dns-1035",
        obj("Service", {"spec": {"ports": [{"port": 80}]}}, name="1svc"),
        "metadata.name",
        "DNS-1035",
    ),
    (
        "unknown service field",
        service(clusterIp="10.0.0.1"),
        "spec.clusterIp",
        "did you mean 'clusterIP'",
    ),
    ("ports as map", obj("Service", {"spec": {"ports": {"http": 80}}}), "spec.ports", "valid list"),
    # --- Deployment
    (
        "selector missing",
        deployment(lambda s: s.pop("selector")),
        "spec.selector",
        "required field is missing",
    ),
    (
        "selector empty",
        deployment(lambda s: s.update(selector={})),
        "spec.selector",
        "empty selector",
    ),
    (
        "selector mismatch",
        deployment(lambda s: s["template"]["metadata"].update(labels={"app": "b"})),
        "spec.template.metadata.labels",
        "add app: a",
    ),
    (
        "selector expression mismatch",
        deployment(
            lambda s: s.update(
                selector={
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]
                }
            )
        ),
        "spec.template.metadata.labels",
        "`selector` does not match",
    ),
    (
        "expression operator",
        deployment(
            lambda s: s.update(
                selector={
                    "matchExpressions": [{"key": "app", "operator": "Equals", "values": ["a"]}]
                }
            )
        ),
        "spec.selector.matchExpressions[0].operator",
        "must be one of",
    ),
    (
        "In without values",
        deployment(
            lambda s: s.update(
                selector={
                    "matchLabels": {"app": "a"},
                    "matchExpressions": [{"key": "app", "operator": "In"}],
                }
            )
        ),
        "spec.selector.matchExpressions[0].values",
        "at least one value",
    ),
    (
        "Exists with values",
        deployment(
            lambda s: s.update(
                selector={
                    "matchLabels": {"app": "a"},
                    "matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}],
                }
            )
        ),
        "spec.selector.matchExpressions[0].values",
        "takes no values",
    ),
    (
        "negative replicas",
        deployment(lambda s: s.update(replicas=-1)),
        "spec.replicas",
        "greater than or equal to 0",
    ),
    (
        "replicas not a number",
        deployment(lambda s: s.update(replicas="three")),
        "spec.replicas",
        "valid integer",
    ),
    (
        "template missing",
        deployment(lambda s: s.pop("template")),
        "spec.template",
        "required field is missing",
    ),
    (
        "no containers",
        deployment(lambda s: s["template"]["spec"].update(containers=[])),
        "spec.template.spec.containers",
        "at least one container",
    ),
    (
        "container name missing",
        deployment(lambda s: container(s).pop("name")),
        f"{C0}.name",
        "required field is missing",
    ),
    (
        "container name syntax",
        deployment(lambda s: container(s).update(name="App_1")),
        f"{C0}.name",
        "RFC 1123 label",
    ),
    (
        "duplicate container names",
        deployment(
            lambda s: s["template"]["spec"].update(
                containers=[{"name": "a", "image": "i"}, {"name": "a", "image": "j"}]
            )
        ),
        "spec.template.spec.containers[1].name",
        "duplicate container name",
    ),
    (
        "init container shares name",
        deployment(
            lambda s: s["template"]["spec"].update(initContainers=[{"name": "app", "image": "i"}])
        ),
        "spec.template.spec.containers[0].name",
        "duplicate container name",
    ),
    (
        "containerPort range",
        deployment(lambda s: container(s).update(ports=[{"containerPort": 0}])),
        f"{C0}.ports[0].containerPort",
        "between 1 and 65535",
    ),
    (
        "containerPort missing",
        deployment(lambda s: container(s).update(ports=[{"name": "h"}])),
        f"{C0}.ports[0].containerPort",
        "required field is missing",
    ),
    (
        "container port name",
        deployment(
            lambda s: container(s).update(
                ports=[{"containerPort": 80, "name": "http-web-frontend-1"}]
            )
        ),
        f"{C0}.ports[0].name",
        "at most 15",
    ),
    (
        "container port protocol",
        deployment(lambda s: container(s).update(ports=[{"containerPort": 80, "protocol": "tcp"}])),
        f"{C0}.ports[0].protocol",
        "must be one of",
    ),
    (
        "env name empty",
        deployment(lambda s: container(s).update(env=[{"value": "x"}])),
        f"{C0}.env[0].name",
        "must not be empty",
    ),
    (
        "env name with equals",
        deployment(lambda s: container(s).update(env=[{"name": "A=B", "value": "x"}])),
        f"{C0}.env[0].name",
        "without '='",
    ),
    (
        "env value not a string",
        deployment(lambda s: container(s).update(env=[{"name": "PORT", "value": 8080}])),
        f"{C0}.env[0].value",
        "valid string",
    ),
    (
        "env value and valueFrom",
        deployment(
            lambda s: container(s).update(
                env=[
                    {
                        "name": "A",
                        "value": "x",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                    }
                ]
            )
        ),
        f"{C0}.env[0].valueFrom",
        "may not be specified",
    ),
    (
        "args must be strings",
        deployment(lambda s: container(s).update(args=["--port", 80])),
        f"{C0}.args[1]",
        "valid string",
    ),
    (
        "pull policy enum",
        deployment(lambda s: container(s).update(imagePullPolicy="Sometimes")),
        f"{C0}.imagePullPolicy",
        "must be one of",
    ),
    (
        "unknown container field",
        deployment(lambda s: container(s).update(workdir="/app")),
        f"{C0}.workdir",
        "unknown field 'workdir'; did you mean 'workingDir'?",
    ),
    (
        "volume mount undefined",
        deployment(
            lambda s: container(s).update(volumeMounts=[{"name": "data", "mountPath": "/data"}])
        ),
        f"{C0}.volumeMounts[0].name",
        "is not defined",
    ),
    (
        "duplicate volumes",
        deployment(
            lambda s: s["template"]["spec"].update(
                volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]
            )
        ),
        "spec.template.spec.volumes[1].name",
        "duplicate volume name",
    ),
    (
        "restartPolicy",
        deployment(lambda s: s["template"]["spec"].update(restartPolicy="Never")),
        "spec.template.spec.restartPolicy",
        "only support 'Always'",
    ),
    (
        "strategy type",
        deployment(lambda s: s.update(strategy={"type": "BlueGreen"})),
        "spec.strategy.type",
        "must be one of",
    ),
    (
        "recreate with rollingUpdate",
        deployment(
            lambda s: s.update(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
        ),
        "spec.strategy.rollingUpdate",
        "may not be set",
    ),
    (
        "service account name",
        deployment(lambda s: s["template"]["spec"].update(serviceAccountName="My_SA")),
        "spec.template.spec.serviceAccountName",
        "invalid service account name",
    ),
    (
        "template label key",
        deployment(lambda s: s["template"]["metadata"]["labels"].update({"bad key": "x"})),
        "spec.template.metadata.labels[bad key]",
        "invalid label key",
    ),
    (
        "sidecar restartPolicy on container",
        deployment(lambda s: container(s).update(restartPolicy="Always")),
        f"{C0}.restartPolicy",
        "only init containers",
    ),
    # --- Pod
    (
        "pod without containers",
        obj("Pod", {"spec": {}}),
        "spec.containers",
        "at least one container",
    ),
    (
        "pod restartPolicy enum",
        obj(
            "Pod",
            {"spec": {"containers": [{"name": "a", "image": "i"}], "restartPolicy": "Sometimes"}},
        ),
        "spec.restartPolicy",
        "must be one of",
    ),
    # --- Secret
    (
        "secret data not base64",
        obj("Secret", {"data": {"password": "not base64!"}}),
        "data.password",
        "not valid base64",
    ),
    (
        "secret bad key",
        obj("Secret", {"stringData": {"a/b": "x"}}),
        "stringData[a/b]",
        "invalid key",
    ),
    (
        "tls secret without key",
        obj("Secret", {"type": "kubernetes.io/tls", "stringData": {"tls.crt": "-----BEGIN X"}}),
        "data",
        "tls.key",
    ),
    ("tls secret empty", obj("Secret", {"type": "kubernetes.io/tls"}), "data", "tls.crt, tls.key"),
    (
        "dockerconfigjson",
        obj("Secret", {"type": "kubernetes.io/dockerconfigjson", "data": {}}),
        "data",
        ".dockerconfigjson",
    ),
    (
        "secret data value type",
        obj("Secret", {"stringData": {"port": 5432}}),
        "stringData.port",
        "valid string",
    ),
    ("secret unknown field", obj("Secret", {"spec": {"data": {}}}), "spec", "unknown field"),
    # --- ConfigMap
    (
        "configmap key in both",
        obj("ConfigMap", {"data": {"a": "x"}, "binaryData": {"a": "eA=="}}),
        "binaryData.a",
        "only one of data and binaryData",
    ),
    (
        "configmap binary not base64",
        obj("ConfigMap", {"binaryData": {"a": "%%%"}}),
        "binaryData.a",
        "not valid base64",
    ),
    (
        "configmap value not string",
        obj("ConfigMap", {"data": {"replicas": 3}}),
        "data.replicas",
        "valid string",
    ),
    (
        "configmap bad key",
        obj("ConfigMap", {"data": {"my key": "x"}}),
        "data[my key]",
        "invalid key",
    ),
    # --- Namespace / ServiceAccount / metadata
    (
        "namespace name",
        obj("Namespace", {}, name="my.namespace"),
        "metadata.name",
        "RFC 1123 label",
    ),
    (
        "namespace spec field",
        obj("Namespace", {"spec": {"labels": {}}}),
        "spec.labels",
        "unknown field",
    ),
    (
        "label key",
        obj("ServiceAccount", {}, labels={"-bad": "x"}),
        "metadata.labels.-bad",
        "invalid label key",
    ),
    (
        "label value too long",
        obj("ServiceAccount", {}, labels={"a": "x" * 64}),
        "metadata.labels.a",
        "at most 63",
    ),
    (
        "label value bool",
        obj("Namespace", {}, labels={"istio-injection": True}),
        "metadata.labels.istio-injection",
        "valid string",
    ),
    (
        "annotation key",
        obj("ConfigMap", {}, annotations={"bad key": "x"}),
        "metadata.annotations[bad key]",
        "invalid annotation key",
    ),
    (
        "image pull secret name",
        obj("ServiceAccount", {"imagePullSecrets": [{}]}),
        "imagePullSecrets[0].name",
        "required field is missing",
    ),
    (
        "sa automount type",
        obj("ServiceAccount", {"automountServiceAccountToken": "maybe"}),
        "automountServiceAccountToken",
        "valid boolean",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid(text: str, path: str, fragment: str) -> None:
    found = problems(text, Level.ERROR)
    assert any(p == path and fragment in m for p, m in found), found
    assert not load_text(text).resources


WARNINGS: list[tuple[str, str, str, str]] = [
    (
        "injection label value",
        obj("Namespace", {}, labels={"istio-injection": "true"}),
        "metadata.labels.istio-injection",
        "use istio-injection: enabled",
    ),
    (
        "injection and revision",
        obj("Namespace", {}, labels={"istio-injection": "enabled", "istio.io/rev": "canary"}),
        "metadata.labels",
        "istio-injection takes precedence",
    ),
    (
        "image missing",
        deployment(lambda s: container(s).pop("image")),
        f"{C0}.image",
        "ignores the image",
    ),
    (
        "serviceAccount deprecated",
        deployment(lambda s: s["template"]["spec"].update(serviceAccount="sa")),
        "spec.template.spec.serviceAccount",
        "use `serviceAccountName`",
    ),
    (
        "duplicate env",
        deployment(
            lambda s: container(s).update(
                env=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
            )
        ),
        f"{C0}.env[1].name",
        "later definition wins",
    ),
    (
        "tls secret not pem",
        obj(
            "Secret", {"type": "kubernetes.io/tls", "stringData": {"tls.crt": "x", "tls.key": "y"}}
        ),
        "data[tls.crt]",
        "does not look like PEM",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "fragment"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_warning(text: str, path: str, fragment: str) -> None:
    found = problems(text, Level.WARNING)
    assert any(p == path and fragment in m for p, m in found), found
    assert load_text(text).resources


def test_namespace_is_cluster_scoped() -> None:
    [ns] = load_text(obj("Namespace", {}, name="prod", namespace="ignored")).resources
    assert ns.namespace == ""


def test_deployment_defaults() -> None:
    [dep] = load_text(deployment(lambda s: s.pop("replicas"))).resources
    assert dep.spec.replicas is None
    assert dep.spec.effective_replicas == 1
    assert dep.spec.template.spec.containers[0].ports[0].protocol == "TCP"


def test_service_target_port_int_or_name() -> None:
    text = service(
        ports=[
            {"port": 80, "name": "http", "targetPort": 8080},
            {"port": 81, "name": "web", "targetPort": "web"},
        ]
    )
    [svc] = load_text(text).resources
    assert [p.target_port for p in svc.spec.ports] == [8080, "web"]


def test_secret_base64_with_line_breaks() -> None:
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: |\n    aGVs\n    bG8=\n"
    [secret] = load_text(text).resources
    assert secret.body.type == "Opaque"
