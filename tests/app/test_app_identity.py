"""The local mesh's CA without pods: created once under the home and reused, a plug-in
``cacerts`` directory read in place (a readable key refused), the trust domain of meshConfig,
expiry warnings (a third of a CA certificate's lifetime, 15 % of a workload's), status without
a key, the ``cacerts`` Secret warning, and root rotation's CA side."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sailmesh.app.identity import (
    MeshIdentity,
    cacerts_secret_warnings,
    trust_domains_of,
)
from sailmesh.app.rootrotation import rotate_root
from sailmesh.ca.authority import issue_intermediate, self_signed_root
from sailmesh.ca.certs import Validity
from sailmesh.ca.csr import make_csr
from sailmesh.ca.identity import SpiffeId, TrustDomains
from sailmesh.ca.keys import generate_key
from sailmesh.ca.storage import save_cacerts
from sailmesh.clock import ManualClock
from sailmesh.config.load import load_text
from sailmesh.errors import ApiError, CaError
from sailmesh.runtime.agent.pods import PodCertificate
from sailmesh.runtime.agent.workload import CertificateInfo

HOUR = 3600.0


def _root_serial(identity: MeshIdentity) -> int:
    return identity.authority.trust_roots()[0].serial_number


def test_the_ca_is_created_private_once_and_reused(tmp_path: Path) -> None:
    first = MeshIdentity(tmp_path)
    ca = tmp_path / "ca"
    assert stat.S_IMODE(ca.stat().st_mode) == 0o700
    assert sorted(p.name for p in ca.iterdir()) == [
        "ca-cert.pem",
        "ca-key.pem",
        "cert-chain.pem",
        "root-cert.pem",
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in ca.iterdir())
    assert _root_serial(MeshIdentity(tmp_path)) == _root_serial(first)
    assert "KEY" not in repr(first)


def _plugin(directory: Path, clock: ManualClock, left: float) -> None:
    """A plug-in CA whose intermediate has ``left`` seconds of a 3 h lifetime left."""
    root = self_signed_root("example.org", clock.wall())
    start = clock.wall() + left - 3 * HOUR
    save_cacerts(directory, issue_intermediate(root, start + 60, ttl=3 * HOUR - 60))


def test_a_plugin_ca_is_read_in_place(tmp_path: Path) -> None:
    clock = ManualClock()
    _plugin(tmp_path / "cacerts", clock, 2 * HOUR)
    identity = MeshIdentity(tmp_path / "home", cacerts=tmp_path / "cacerts", clock=clock)
    assert not (tmp_path / "home" / "ca").exists()
    assert identity.source == f"plug-in CA from {tmp_path / 'cacerts'}"
    assert [c["role"] for c in identity.status()["signingChain"]] == ["intermediate", "root"]


def test_a_plugin_key_others_can_read_is_refused(tmp_path: Path) -> None:
    clock = ManualClock()
    _plugin(tmp_path / "cacerts", clock, 2 * HOUR)
    os.chmod(tmp_path / "cacerts" / "ca-key.pem", 0o644)
    with pytest.raises(CaError, match="readable by others"):
        MeshIdentity(tmp_path / "home", cacerts=tmp_path / "cacerts", clock=clock)


def test_trust_domains_follow_mesh_config(tmp_path: Path) -> None:
    assert trust_domains_of({}) == TrustDomains()
    assert trust_domains_of(
        {"trustDomain": "example.org", "trustDomainAliases": ["old.org"]}
    ) == TrustDomains("example.org", ("old.org",))
    identity = MeshIdentity(tmp_path)
    identity.follow_mesh_config({"trustDomain": "example.org"})
    assert identity.authority.trust_domains.primary == "example.org"
    identity.follow_mesh_config({"trustDomain": "Not A Domain"})  # kept, with a warning
    assert identity.authority.trust_domains.primary == "example.org"
    me = SpiffeId("example.org", "shop", "echo")
    issued = identity.issuer().signer_for(HOUR)(make_csr(generate_key(), me), me)
    assert issued.validity.lifetime == pytest.approx(HOUR + 60)


def _pod(left: float, lifetime: float, now: float) -> PodCertificate:
    validity = Validity(now + left - lifetime, now + left)
    return PodCertificate(
        "shop", "echo-0", CertificateInfo("spiffe://x/ns/shop/sa/e", "ab", validity)
    )


def test_warnings_for_ca_and_workload_certificates(tmp_path: Path) -> None:
    clock = ManualClock()
    _plugin(tmp_path / "cacerts", clock, 50 * 60)  # 50 min of 3 h: under a third
    identity = MeshIdentity(tmp_path / "home", cacerts=tmp_path / "cacerts", clock=clock)
    chain = identity.authority.signing_chain()
    now = clock.wall()
    healthy, overdue = _pod(6 * HOUR, 24 * HOUR, now), _pod(3 * HOUR, 24 * HOUR, now)
    (ca_warning,) = identity.warnings(chain, [healthy])
    assert ca_warning.startswith("warning: intermediate CA certificate ")
    assert "expires in 50m0s" in ca_warning
    warnings = identity.warnings(chain, [overdue])
    assert len(warnings) == 2 and "workload certificate of shop/echo-0" in warnings[1]
    assert "not renewed" in warnings[1]
    expired = identity.warnings(chain, [_pod(-5, 10, now)])[1]
    assert "expired 5s ago" in expired


def test_status_holds_no_key(tmp_path: Path) -> None:
    identity = MeshIdentity(tmp_path)
    text = json.dumps(identity.status())
    key = (tmp_path / "ca" / "ca-key.pem").read_text().splitlines()[1]
    assert "PRIVATE KEY" not in text and key not in text
    assert identity.status()["warnings"] == []


def test_a_cacerts_secret_is_answered_with_a_warning() -> None:
    text = """
apiVersion: v1
kind: Secret
metadata: {name: cacerts, namespace: istio-system}
stringData: {ca-cert.pem: x}
---
apiVersion: v1
kind: Secret
metadata: {name: cacerts, namespace: default}
stringData: {ca-cert.pem: x}
"""
    result = load_text(text, "s.yaml")
    assert result.ok, result.problems
    (warning,) = cacerts_secret_warnings(result.resources)
    assert "istio-system/cacerts" in warning and "--cacerts" in warning


def test_rotation_trusts_both_roots_signs_with_the_new_and_persists_it(tmp_path: Path) -> None:
    identity = MeshIdentity(tmp_path)
    old = _root_serial(identity)
    before = (tmp_path / "ca" / "root-cert.pem").read_bytes()
    answer = rotate_root(identity, 60.0, None)
    assert answer["persistedIn"] == str(tmp_path / "ca") and answer["reissued"] == 0
    serials = [r.serial_number for r in identity.authority.trust_roots()]
    assert old in serials and len(serials) == 2
    new = identity.authority.signing_chain()[0]
    assert (
        new.serial_number != old and format(new.serial_number, "x") == answer["newRoot"]["serial"]
    )
    assert (tmp_path / "ca" / "root-cert.pem").read_bytes() != before
    assert _root_serial(MeshIdentity(tmp_path)) == new.serial_number  # a restart signs with it
    assert new.subject != identity.authority.trust_roots()[1].subject  # told apart by name too


def test_rotation_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="negative"):
        rotate_root(MeshIdentity(tmp_path / "a"), -1, None)
    clock = ManualClock()
    _plugin(tmp_path / "cacerts", clock, 2 * HOUR)
    plugin = MeshIdentity(tmp_path / "b", cacerts=tmp_path / "cacerts", clock=clock)
    with pytest.raises(ApiError, match="--cacerts"):
        rotate_root(plugin, 60, None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ApiError, match="cannot be used"):
        rotate_root(plugin, 60, tmp_path / "empty")
    _plugin(tmp_path / "next", clock, 2 * HOUR)
    answer = rotate_root(plugin, 60, tmp_path / "next")
    assert answer["persistedIn"] is None and not (tmp_path / "b" / "ca").exists()
