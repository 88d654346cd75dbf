"""SPIFFE ids and trust domains: build, parse, refuse malformed ids; aliases."""

from __future__ import annotations

import pytest

from sailmesh.ca.identity import IdentityError, SpiffeId, TrustDomains


def test_build_and_parse_round_trip() -> None:
    identity = TrustDomains().workload("default", "bookinfo-productpage")
    assert identity.uri == "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"
    assert SpiffeId.parse(identity.uri) == identity


@pytest.mark.parametrize(
    "uri",
    [
        "https://cluster.local/ns/default/sa/x",
        "spiffe://cluster.local/ns/default/sa",
        "spiffe://cluster.local/ns/default/sa/x/extra",
        "spiffe://cluster.local/sa/x/ns/default",
        "spiffe://cluster.local/ns//sa/x",
        "spiffe://Cluster.Local/ns/default/sa/x",
        "spiffe://cluster.local:443/ns/default/sa/x",
        "spiffe://user@cluster.local/ns/default/sa/x",
        "spiffe://cluster.local/ns/default/sa/x?q=1",
        "spiffe://cluster.local/ns/Default/sa/x",
        "spiffe:///ns/default/sa/x",
        "spiffe://cluster..local/ns/default/sa/x",
    ],
)
def test_malformed_ids_are_refused(uri: str) -> None:
    with pytest.raises(IdentityError):
        SpiffeId.parse(uri)


def test_trust_domain_aliases() -> None:
    domains = TrustDomains("new.example", ("old.example",))
    old = SpiffeId("old.example", "ns1", "sa1")
    assert domains.trusts(old)
    assert not domains.trusts(SpiffeId("other.example", "ns1", "sa1"))
    assert [i.uri for i in domains.equivalents(old)] == [
        "spiffe://new.example/ns/ns1/sa/sa1",
        "spiffe://old.example/ns/ns1/sa/sa1",
    ]
    assert domains.workload("ns1", "sa1").trust_domain == "new.example"


def test_bad_trust_domain_in_mesh_config_is_refused() -> None:
    with pytest.raises(IdentityError):
        TrustDomains("Bad_Domain!")
