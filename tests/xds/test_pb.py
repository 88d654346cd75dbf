"""Protobuf helpers: durations, clamped integers, Any packing, Istio metadata."""

from __future__ import annotations

import pytest
from envoy.config.listener.v3 import listener_pb2
from google.protobuf import json_format

from sailmesh.xds import pb


@pytest.mark.parametrize(
    ("nanos", "expected"),
    [(0, (0, 0)), (1_500_000_000, (1, 500_000_000)), (-7, (0, 0)), (999, (0, 999))],
)
def test_duration(nanos: int, expected: tuple[int, int]) -> None:
    d = pb.duration(nanos)
    assert (d.seconds, d.nanos) == expected


def test_seconds_rounds_to_nanoseconds() -> None:
    d = pb.seconds(2.25)
    assert (d.seconds, d.nanos) == (2, 250_000_000)


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), (-1, 0), (2**40, pb.MAX_UINT32), (pb.MAX_UINT32, 4_294_967_295)]
)
def test_u32_clamps(value: int, expected: int) -> None:
    assert pb.u32(value).value == expected


def test_pack_and_socket_address() -> None:
    packed = pb.pack(listener_pb2.Listener(name="l"))
    assert packed.type_url == "type.googleapis.com/envoy.config.listener.v3.Listener"
    assert listener_pb2.Listener.FromString(packed.value).name == "l"
    address = pb.socket_address("10.0.0.1", 9080).socket_address
    assert (address.address, address.port_value) == ("10.0.0.1", 9080)


def test_ads_source_is_a_fresh_copy() -> None:
    first = pb.ads_source()
    assert json_format.MessageToDict(first) == {"ads": {}, "resourceApiVersion": "V3"}
    first.initial_fetch_timeout.seconds = 9
    assert not pb.ads_source().HasField("initial_fetch_timeout")


def test_istio_metadata_converts_nested_values() -> None:
    meta = pb.istio_metadata(
        {
            "workload": "w;ns;app;v1;Kubernetes",
            "labels": {"app": "r", "deep": {"x": "y"}},
            "list": ["a", ("b", 1)],
            "flag": True,
            "n": 3,
            "none": None,
        }
    )
    assert json_format.MessageToDict(meta) == {
        "filterMetadata": {
            "istio": {
                "workload": "w;ns;app;v1;Kubernetes",
                "labels": {"app": "r", "deep": {"x": "y"}},
                "list": ["a", ["b", 1.0]],
                "flag": True,
                "n": 3.0,
                "none": None,
            }
        }
    }


def test_struct_bool_and_data_source() -> None:
    assert json_format.MessageToDict(pb.struct({"a": 1, "b": "x"})) == {"a": 1.0, "b": "x"}
    assert pb.bool_value(False).value is False
    assert pb.data_source("text").inline_string == "text"
