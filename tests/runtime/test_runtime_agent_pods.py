"""The run's node agents without Envoy: a pod's socket and its modes, who it admits, re-issue
(now, later, in a new trust domain), a refused signature leaving nothing behind."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sailmesh.app.identity import SECRET_RENDERER, ca_signer
from sailmesh.ca.authority import Authority, self_signed_root
from sailmesh.ca.identity import SpiffeId, TrustDomains
from sailmesh.ca.signing import IssuedChain, SigningRefused
from sailmesh.clock import SYSTEM_CLOCK
from sailmesh.runtime.agent.pods import SOCKET_DIR, SOCKET_NAME, IdentityIssuer, PodIdentities
from sailmesh.runtime.agent.workload import Signer

KEY = ("shop", "echo-0")
HERE = Path("/proc/self/ns/net")


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A pod work directory with a short path (Unix socket paths stay under 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="pods-"))
    yield path
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


AUTHORITY = Authority(self_signed_root("cluster.local", SYSTEM_CLOCK.wall()), SYSTEM_CLOCK)


def _issuer(signer_for: Callable[[float], Signer] | None = None) -> IdentityIssuer:
    """The app's wiring, over :data:`AUTHORITY`."""
    return IdentityIssuer(
        lambda: AUTHORITY.trust_domains.primary,
        signer_for or (lambda ttl: ca_signer(AUTHORITY, ttl)),
        SECRET_RENDERER,
    )


@pytest.fixture
def pods() -> Iterator[PodIdentities]:
    # The "Envoy" of these tests is this process: its uid and network namespace.
    identities = PodIdentities(_issuer(), os.getuid(), os.getgid())
    identities.start()
    yield identities
    identities.stop()
    AUTHORITY.trust_domains = TrustDomains()


def _admitted(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        sock.connect(str(path))
        try:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(9))
            return bool(sock.recv(4096))
        except (BrokenPipeError, ConnectionResetError):
            return False


def test_a_pods_socket_serves_its_identity(pods: PodIdentities, workdir: Path) -> None:
    path = pods.start_pod(KEY, "echo", 3600.0, workdir, HERE)
    assert path == workdir / SOCKET_DIR / SOCKET_NAME
    directory_mode = stat.S_IMODE(path.parent.stat().st_mode)
    socket_mode = stat.S_IMODE(path.stat().st_mode)
    if os.geteuid() == 0:  # root's directory, the Envoy's group
        assert (directory_mode, socket_mode) == (0o750, 0o660)
        assert path.parent.stat().st_gid == os.getgid()
    else:
        assert (directory_mode, socket_mode) == (0o700, 0o600)
    (cert,) = pods.certificates()
    assert (cert.namespace, cert.pod) == KEY
    assert cert.info.identity == "spiffe://cluster.local/ns/shop/sa/echo"
    assert cert.info.validity.lifetime == pytest.approx(3600 + 60, abs=1)
    assert _admitted(path)
    assert pods.wait_synced(1)  # no Envoy stream open: nothing to wait for
    pods.stop_pod(KEY)
    assert not path.exists() and pods.agent(KEY) is None


def test_another_uid_is_refused(workdir: Path) -> None:
    pods = PodIdentities(_issuer(), os.getuid() + 1, os.getgid())
    pods.start()
    try:
        path = pods.start_pod(KEY, "echo", 3600.0, workdir, HERE)
        os.chmod(path, 0o666)  # even with the file modes open, the peer check refuses
        assert not _admitted(path)
        agent = pods.agent(KEY)
        assert agent is not None and agent.refused == 1
    finally:
        pods.stop()


def test_reissue_now_later_and_in_a_new_trust_domain(pods: PodIdentities, workdir: Path) -> None:
    pods.start_pod(KEY, "echo", 3600.0, workdir, HERE)
    (first,) = pods.certificates()
    assert pods.renew_all() == 1
    (second,) = pods.certificates()
    assert second.info.serial_hex != first.info.serial_hex
    pods.renew_all_after(0.2)
    deadline = time.monotonic() + 5
    while pods.certificates()[0].info.serial_hex == second.info.serial_hex:
        assert time.monotonic() < deadline, "no re-issue after the delay"
        time.sleep(0.05)
    AUTHORITY.trust_domains = TrustDomains("example.org")  # as meshConfig changed
    pods.retarget("example.org")
    (moved,) = pods.certificates()
    assert moved.info.identity == "spiffe://example.org/ns/shop/sa/echo"


def test_a_refused_signature_fails_the_pod_and_leaves_no_socket(workdir: Path) -> None:
    def refusing(ttl: float) -> Signer:
        def sign(csr: bytes, identity: SpiffeId) -> IssuedChain:
            raise SigningRefused("no")

        return sign

    pods = PodIdentities(_issuer(refusing), os.getuid(), os.getgid())
    pods.start()
    try:
        with pytest.raises(SigningRefused):
            pods.start_pod(KEY, "echo", 3600.0, workdir, HERE)
        assert not (workdir / SOCKET_DIR / SOCKET_NAME).exists()
        assert pods.certificates() == []
    finally:
        pods.stop()


def test_stop_cancels_a_pending_reissue(pods: PodIdentities, workdir: Path) -> None:
    pods.start_pod(KEY, "echo", 3600.0, workdir, HERE)
    pods.renew_all_after(3600.0)
    pods.stop()  # returns at once, cancelling the hour-long wait; the fixture's stop is a no-op
    assert pods.certificates() == [] and not (workdir / SOCKET_DIR / SOCKET_NAME).exists()
