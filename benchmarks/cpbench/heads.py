"""How a simulated Envoy reads responses cheaply: the head fields (version, type URL, nonce)
of an encoded response without parsing its resources, and the names its clusters and listeners
reference (EDS and RDS subscriptions), parsed once per version."""

from __future__ import annotations

from typing import Any

from cpbench.settings import CLUSTER, HCM


# --- child: the simulated proxies ------------------------------------------------------------
class Names:
    """Resource names referenced by a CDS/LDS response, parsed once per version (SotW) or
    once per resource version (delta)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}
        self._one: dict[tuple[str, str, str], tuple[str, ...]] = {}

    def of_resource(self, type_url: str, resource: Any) -> tuple[str, ...]:
        """Names referenced by one delta ``Resource`` (EDS names of a cluster, RDS of a listener)."""
        key = (type_url, resource.name, resource.version)
        found = self._one.get(key)
        if found is None:
            found = self._one[key] = self._parse_one(type_url, resource.resource)
        return found

    def of(self, response: Any) -> tuple[str, ...]:
        key = (response.type_url, response.version_info)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._parse(response)
        return found

    @classmethod
    def _parse(cls, response: Any) -> tuple[str, ...]:
        from envoy.service.discovery.v3 import discovery_pb2

        names: set[str] = set()
        whole = discovery_pb2.DiscoveryResponse.FromString(response.data)
        for res in whole.resources:
            names.update(cls._parse_one(response.type_url, res))
        return tuple(sorted(names))

    @staticmethod
    def _parse_one(type_url: str, packed: Any) -> tuple[str, ...]:
        from envoy.config.cluster.v3 import cluster_pb2
        from envoy.config.listener.v3 import listener_pb2
        from envoy.extensions.filters.network.http_connection_manager.v3 import (
            http_connection_manager_pb2 as hcm_pb2,
        )

        names: set[str] = set()
        if type_url == CLUSTER:
            cluster = cluster_pb2.Cluster.FromString(packed.value)
            if cluster.type == cluster_pb2.Cluster.EDS:
                names.add(cluster.eds_cluster_config.service_name or cluster.name)
            return tuple(names)
        listener = listener_pb2.Listener.FromString(packed.value)
        chains = [*listener.filter_chains]
        if listener.HasField("default_filter_chain"):
            chains.append(listener.default_filter_chain)
        for chain in chains:
            for f in chain.filters:
                if f.typed_config.type_url == HCM:
                    hcm = hcm_pb2.HttpConnectionManager.FromString(f.typed_config.value)
                    if hcm.HasField("rds"):
                        names.add(hcm.rds.route_config_name)
        return tuple(sorted(names))


_WALK_FIELDS = 8


def _walk_head(data: bytes) -> dict[int, str] | None:
    """The top-level string fields 1, 4 and 5 of an encoded (Delta)DiscoveryResponse, read by
    a walk over its fields that skips the others without copying them (one 500 KB route
    table: 2 us, where upb copies it as an unknown field: 50 us); None past
    :data:`_WALK_FIELDS` fields (a response with many resources, where upb's loop is faster)."""
    out: dict[int, str] = {}
    view, pos, end, seen = memoryview(data), 0, len(data), 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while pos < end:
        seen += 1
        if seen > _WALK_FIELDS:
            return None
        key = varint()
        number, kind = key >> 3, key & 7
        if kind == 2:
            size = varint()
            if number in (1, 4, 5):
                out[number] = str(view[pos : pos + size], "utf-8")
            pos += size
        elif kind == 0:
            varint()
        else:
            pos += 8 if kind == 1 else 4  # fixed64 / fixed32 (none in these messages)
    return out


_head_message: Any = None


def head_fields(data: bytes) -> tuple[str, str, str]:
    """``(version, type_url, nonce)`` of an encoded DiscoveryResponse or DeltaDiscoveryResponse
    (fields 1, 4 and 5 of both), without parsing the resources."""
    fields = _walk_head(data)
    if fields is not None:
        return fields.get(1, ""), fields.get(4, ""), fields.get(5, "")
    head = _head_message_class().FromString(data)
    return head.version_info, head.type_url, head.nonce


def _head_message_class() -> Any:
    """A message with fields 1, 4 and 5 only (the resources, field 2, are skipped by the
    parser as unknown)."""
    global _head_message
    if _head_message is None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        proto = descriptor_pb2.FileDescriptorProto(
            name="bench_head.proto", package="bench", syntax="proto3"
        )
        message = proto.message_type.add(name="Head")
        for name, number in (("version_info", 1), ("type_url", 4), ("nonce", 5)):
            message.field.add(
                name=name,
                number=number,
                type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            )
        pool = descriptor_pool.DescriptorPool()
        pool.Add(proto)
        _head_message = message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.Head"))
    return _head_message


class Head:
    """A SotW ``DiscoveryResponse`` as the simulated Envoy reads it: ``version_info``,
    ``type_url`` and ``nonce`` read (:func:`head_fields`), the resources kept as received
    (``data``) and parsed only the first time a version is seen (:class:`Names`). A real
    Envoy parses everything, in its own process; 2,000 simulated ones parsing 500 KB responses
    on one core would measure the simulation, not the control plane."""

    __slots__ = ("data", "nonce", "type_url", "version_info")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.version_info, self.type_url, self.nonce = head_fields(data)


class DeltaHead:
    """A ``DeltaDiscoveryResponse`` as the simulated Envoy reads it: ``system_version_info``,
    ``type_url`` and ``nonce`` read at once (:func:`head_fields`), the resources parsed only
    when asked for (:attr:`resources`: the clusters and listeners whose references the client
    follows). A route table of 1,000 services (500 KB) is only ACKed, so 2,000 clients do not
    parse it 2,000 times on the one core they share."""

    __slots__ = ("_full", "data", "nonce", "system_version_info", "type_url")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.system_version_info, self.type_url, self.nonce = head_fields(data)
        self._full: Any = None

    def _parsed(self) -> Any:
        if self._full is None:
            from envoy.service.discovery.v3 import discovery_pb2

            self._full = discovery_pb2.DeltaDiscoveryResponse.FromString(self.data)
        return self._full

    @property
    def resources(self) -> Any:
        return self._parsed().resources

    @property
    def removed_resources(self) -> Any:
        return self._parsed().removed_resources
