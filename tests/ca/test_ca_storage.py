"""CA files: modes 0600/0700, atomic writes, plug-in ``cacerts``, and keys kept out of logs."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from sailmesh.ca.authority import Authority, issue_intermediate, load_or_create, self_signed_root
from sailmesh.ca.csr import make_csr
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.keys import KeyType, generate_key, private_pem
from sailmesh.ca.material import CaMaterial
from sailmesh.ca.storage import CA_KEY, load_cacerts, save_cacerts, write_atomic
from sailmesh.clock import ManualClock
from sailmesh.errors import CaError

ME = SpiffeId("cluster.local", "default", "reviews")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_ca_is_private_and_reloads(tmp_path: Path, clock: ManualClock) -> None:
    home = tmp_path / "state" / "ca"
    created = load_or_create(home, clock, "cluster.local")
    assert _mode(home) == 0o700
    assert {p.name: _mode(p) for p in home.iterdir()} == {
        "ca-cert.pem": 0o600,
        "ca-key.pem": 0o600,
        "root-cert.pem": 0o600,
        "cert-chain.pem": 0o600,
    }
    again = load_or_create(home, clock, "cluster.local")
    assert again.signing_cert == created.signing_cert


def test_rsa_root(tmp_path: Path, clock: ManualClock) -> None:
    material = load_or_create(tmp_path / "ca", clock, "cluster.local", key_type=KeyType.RSA_2048)
    assert material.signing_cert.public_key().key_size == 2048  # type: ignore[union-attr]


def test_key_readable_by_others_is_refused(tmp_path: Path, root: CaMaterial) -> None:
    save_cacerts(tmp_path, root)
    os.chmod(tmp_path / CA_KEY, 0o644)
    with pytest.raises(CaError, match="readable by others"):
        load_cacerts(tmp_path)


def test_mismatched_key_is_refused(tmp_path: Path, root: CaMaterial) -> None:
    save_cacerts(tmp_path, root)
    write_atomic(tmp_path / CA_KEY, private_pem(generate_key()))
    with pytest.raises(CaError, match="does not match"):
        load_cacerts(tmp_path)


def test_missing_file_is_named(tmp_path: Path, root: CaMaterial) -> None:
    save_cacerts(tmp_path, root)
    (tmp_path / "root-cert.pem").unlink()
    with pytest.raises(CaError, match=r"root-cert\.pem"):
        load_cacerts(tmp_path)


def test_plugin_intermediate_signs_with_its_chain(
    tmp_path: Path, root: CaMaterial, clock: ManualClock
) -> None:
    inter = issue_intermediate(root, clock.wall())
    plugin = tmp_path / "cacerts"
    save_cacerts(plugin, inter)
    loaded = load_or_create(tmp_path / "unused", clock, "cluster.local", cacerts=plugin)
    assert loaded.chain == inter.chain and loaded.roots == root.roots
    assert not (tmp_path / "unused").exists()
    issued = Authority(loaded, clock).sign(make_csr(generate_key(), ME), ME)
    assert issued.intermediates == (inter.signing_cert,)


def test_plugin_chain_from_another_root_is_refused(
    tmp_path: Path, root: CaMaterial, clock: ManualClock
) -> None:
    inter = issue_intermediate(root, clock.wall())
    save_cacerts(tmp_path, inter)
    other = self_signed_root("cluster.local", clock.wall())
    (tmp_path / "root-cert.pem").write_bytes(other.roots_pem())
    with pytest.raises(CaError, match="root"):
        load_cacerts(tmp_path)


def test_write_atomic_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two" and os.listdir(tmp_path) == ["f"]


def test_no_private_key_in_logs(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    material = load_or_create(tmp_path / "ca", clock, "cluster.local")
    authority = Authority(material, clock)
    key = generate_key()
    authority.sign(make_csr(key, ME), ME)
    logging.getLogger("test").info("authority %r material %r", authority, material)
    assert "PRIVATE KEY" not in caplog.text
    assert private_pem(key).decode() not in caplog.text
