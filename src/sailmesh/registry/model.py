"""Registry values: services, ports, workloads and endpoints (immutable)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

Protocol = Literal[
    "HTTP",
    "HTTP2",
    "HTTPS",
    "GRPC",
    "GRPC-WEB",
    "TCP",
    "TLS",
    "MONGO",
    "MYSQL",
    "REDIS",
    "UDP",
    "AUTO",
]
Resolution = Literal["STATIC", "DNS", "DNS_ROUND_ROBIN", "NONE"]
HTTP_PROTOCOLS: frozenset[str] = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})
K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping (labels, selectors, named ports)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(data or {})
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


EMPTY: FrozenMap[str, str] = FrozenMap()


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    protocol: Protocol
    target_port: int | str | None = None

    @property
    def is_http(self) -> bool:
        return self.protocol in HTTP_PROTOCOLS


@dataclass(frozen=True)
class Service:
    """A service: a hostname with ports, optionally a virtual IP and a workload selector."""

    hostname: str
    namespace: str
    ports: tuple[ServicePort, ...]
    vip: str | None = None
    name: str = ""
    labels: FrozenMap[str, str] = EMPTY
    selector: FrozenMap[str, str] | None = None
    #: A ServiceEntry's address ranges (``10.0.0.0/24``) and its addresses besides the VIP (as
    #: ``/32``): its TCP ports take traffic to any address inside them.
    cidrs: tuple[str, ...] = ()
    resolution: Resolution = "STATIC"
    mesh_external: bool = False
    #: exportTo; empty: not set (the mesh's ``defaultServiceExportTo`` applies, ``*`` by default).
    export_to: tuple[str, ...] = ()
    origin: str = "kubernetes"  # or "serviceentry/<ns>/<name>"
    #: Identities a server of this service may present besides its endpoints' (a
    #: ServiceEntry's ``subjectAltNames``).
    subject_alt_names: tuple[str, ...] = ()

    def port(self, number: int) -> ServicePort | None:
        return next((p for p in self.ports if p.port == number), None)

    def port_named(self, name: str) -> ServicePort | None:
        return next((p for p in self.ports if p.name == name), None)


#: Istio's workload label for "this workload has a sidecar that accepts Istio mutual TLS"
#: (value ``istio``); clients' auto mTLS picks TLS or plaintext per endpoint from it.
TLS_MODE_LABEL = "security.istio.io/tlsMode"
TLS_MODE_ISTIO = "istio"


@dataclass(frozen=True)
class Workload:
    """A running instance: a pod (from the runtime) or a WorkloadEntry."""

    name: str
    namespace: str
    address: str
    labels: FrozenMap[str, str] = EMPTY
    service_account: str = "default"
    ports: FrozenMap[str, int] = field(default_factory=FrozenMap)  # named container ports
    # containerPort -> the port actually listening at ``address`` (the local runtime's explicit
    # mode gives each pod its own host ports); empty: container ports are reachable as they are.
    port_map: FrozenMap[int, int] = field(default_factory=FrozenMap)
    locality: str = ""
    weight: int = 1
    healthy: bool = True
    network: str = ""
    origin: str = "pod"  # "pod", "workloadentry" or "serviceentry" (inline endpoint)
    service_entry: str = ""  # for inline endpoints: the origin of the ServiceEntry's services

    @property
    def identity(self) -> str:
        """The SPIFFE id of the workload's service account (``""`` for a ServiceEntry or
        WorkloadEntry endpoint that names none: it has no identity to check)."""
        if not self.service_account:
            return ""
        return f"spiffe://cluster.local/ns/{self.namespace}/sa/{self.service_account}"


@dataclass(frozen=True)
class Endpoint:
    """One address:port serving one service port."""

    hostname: str
    service_port: ServicePort
    address: str
    port: int
    labels: FrozenMap[str, str] = EMPTY
    service_account: str = ""
    locality: str = ""
    weight: int = 1
    healthy: bool = True
    workload: str = ""
    namespace: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def frozen_map(values: Mapping[str, str] | None) -> FrozenMap[str, str]:
    return FrozenMap(values) if values else EMPTY


def selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes equality selector; an empty or missing selector selects nothing here."""
    if not selector:
        return False
    return all(labels.get(k) == v for k, v in selector.items())
