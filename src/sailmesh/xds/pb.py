"""Small protobuf helpers shared by the translators: packing, durations, ADS sources, metadata."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from envoy.config.core.v3 import address_pb2, base_pb2, config_source_pb2
from google.protobuf import any_pb2, duration_pb2, struct_pb2, wrappers_pb2

#: Istio's value for "no limit" in circuit breakers (2^32 - 1).
MAX_UINT32 = 4_294_967_295


def pack(message: Any) -> any_pb2.Any:
    """``Any`` holding ``message`` (for every ``typed_config``)."""
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def duration(nanos: int) -> duration_pb2.Duration:
    """A protobuf Duration from nanoseconds (negative values clamp to zero)."""
    nanos = max(nanos, 0)
    return duration_pb2.Duration(seconds=nanos // 1_000_000_000, nanos=nanos % 1_000_000_000)


def seconds(value: float) -> duration_pb2.Duration:
    return duration(round(value * 1_000_000_000))


def u32(value: int) -> wrappers_pb2.UInt32Value:
    return wrappers_pb2.UInt32Value(value=max(0, min(value, MAX_UINT32)))


def u64(value: int) -> wrappers_pb2.UInt64Value:
    return wrappers_pb2.UInt64Value(value=max(0, value))


_ADS = config_source_pb2.ConfigSource(
    ads=config_source_pb2.AggregatedConfigSource(),
    resource_api_version=config_source_pb2.ApiVersion.V3,
)


def ads_source() -> config_source_pb2.ConfigSource:
    """``{ads: {}, resource_api_version: V3}`` (a fresh copy of a prebuilt message)."""
    out = config_source_pb2.ConfigSource()
    out.CopyFrom(_ADS)
    return out


def socket_address(ip: str, port: int) -> address_pb2.Address:
    return address_pb2.Address(
        socket_address=address_pb2.SocketAddress(address=ip, port_value=port)
    )


def listen_address(address: str, port: int) -> address_pb2.Address:
    """A listener address: ``unix:///path`` (or ``unix://@name``, abstract) as a pipe, else
    ``address:port``."""
    if address.startswith(UNIX_PREFIX):
        return address_pb2.Address(pipe=address_pb2.Pipe(path=address[len(UNIX_PREFIX) :]))
    return socket_address(address, port)


UNIX_PREFIX = "unix://"


def cidr_range(value: str) -> address_pb2.CidrRange:
    """An address (a /32 or /128) or a CIDR range; host bits are cleared as Envoy expects."""
    network = ipaddress.ip_network(value.strip(), strict=False)
    return address_pb2.CidrRange(
        address_prefix=str(network.network_address), prefix_len=u32(network.prefixlen)
    )


def struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(dict(values))
    return out


def _set_value(target: struct_pb2.Value, value: Any) -> None:
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, Mapping):
        fields = target.struct_value.fields
        for key, item in value.items():
            _set_value(fields[key], item)
    elif isinstance(value, list | tuple):
        items = target.list_value
        for item in value:
            _set_value(items.values.add(), item)
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int | float):
        target.number_value = value
    else:
        target.null_value = struct_pb2.NULL_VALUE


def istio_metadata(values: Mapping[str, Any]) -> base_pb2.Metadata:
    """``filter_metadata: {istio: values}`` (values: str, numbers, bools, dicts, lists)."""
    meta = base_pb2.Metadata()
    fields = meta.filter_metadata["istio"].fields
    for key, value in values.items():
        _set_value(fields[key], value)
    return meta


def bool_value(value: bool) -> wrappers_pb2.BoolValue:
    return wrappers_pb2.BoolValue(value=value)


def data_source(text: str) -> base_pb2.DataSource:
    """An inline string DataSource."""
    return base_pb2.DataSource(inline_string=text)
