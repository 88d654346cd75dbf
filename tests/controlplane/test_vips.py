"""Service VIPs: clusterIP honoured, headless gets none, derived addresses stable and unique."""

from __future__ import annotations

import ipaddress

from sailmesh.controlplane.vips import SERVICE_CIDR, VipAllocator


def test_cluster_ip_is_honoured_and_headless_has_none() -> None:
    vips = VipAllocator()
    assert vips.allocate("default", "a", "10.96.7.7") == "10.96.7.7"
    assert vips.allocate("default", "headless", "None") is None


def test_derived_address_is_stable_across_allocators_and_in_the_cidr() -> None:
    first = VipAllocator().allocate("default", "reviews")
    again = VipAllocator().allocate("default", "reviews")
    assert first is not None and first == again
    assert ipaddress.IPv4Address(first) in SERVICE_CIDR
    other = VipAllocator().allocate("other", "reviews")
    assert other != first


def test_same_service_keeps_its_address_and_release_frees_it() -> None:
    vips = VipAllocator()
    address = vips.allocate("default", "reviews")
    assert vips.allocate("default", "reviews") == address
    vips.release("default", "reviews")
    # the freed address can be taken explicitly by another service without a clash
    assert vips.allocate("default", "other", address) == address


def test_collisions_probe_to_the_next_free_address() -> None:
    tiny = ipaddress.IPv4Network("10.0.0.0/30")  # two usable addresses
    vips = VipAllocator(tiny)
    got = {vips.allocate("ns", "a"), vips.allocate("ns", "b")}
    assert got == {"10.0.0.1", "10.0.0.2"}
