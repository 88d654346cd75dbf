"""The proxy a node id describes: ``sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sailmesh.errors import SailmeshError
from sailmesh.registry.locality import locality_from_labels
from sailmesh.registry.model import EMPTY, FrozenMap, frozen_map
from sailmesh.snapshot.hosts import DOMAIN_SUFFIX

ProxyType = Literal["sidecar", "router"]
InterceptionMode = Literal["REDIRECT", "NONE"]


class NodeIdError(SailmeshError, ValueError):
    """An Envoy node id that is not ``<type>~<ip>~<pod>.<ns>~<domain>``."""


@dataclass(frozen=True)
class Proxy:
    """An Envoy that connects to the control plane (a sidecar or a gateway router)."""

    type: ProxyType
    ip: str
    pod_name: str
    namespace: str
    labels: FrozenMap[str, str] = EMPTY
    service_account: str = "default"
    interception: InterceptionMode = "REDIRECT"
    #: ``region/zone/subzone`` (Envoy's ``node.locality``, else the topology labels).
    locality: str = ""

    @property
    def id(self) -> str:
        return f"{self.type}~{self.ip}~{self.pod_name}.{self.namespace}~{self.namespace}.{DOMAIN_SUFFIX}"

    @property
    def identity(self) -> str:
        return f"spiffe://cluster.local/ns/{self.namespace}/sa/{self.service_account}"

    @classmethod
    def from_node(
        cls,
        node_id: str,
        labels: dict[str, str] | None = None,
        service_account: str | None = None,
        interception: InterceptionMode = "REDIRECT",
        locality: str = "",
    ) -> Proxy:
        parts = node_id.split("~")
        if len(parts) != 4 or parts[0] not in ("sidecar", "router"):
            raise NodeIdError(
                f"invalid node id {node_id!r}: expected <sidecar|router>~<ip>~<pod>.<ns>~<ns>.{DOMAIN_SUFFIX}"
            )
        kind, ip, pod_ns, _domain = parts
        pod, sep, namespace = pod_ns.rpartition(".")
        if not sep or not pod or not namespace:
            raise NodeIdError(f"invalid node id {node_id!r}: third part must be <pod>.<namespace>")
        return cls(
            type=kind,  # type: ignore[arg-type]
            ip=ip,
            pod_name=pod,
            namespace=namespace,
            labels=frozen_map(labels),
            service_account=service_account or "default",
            interception=interception,
            locality=locality_from_labels(labels or {}, locality),
        )
