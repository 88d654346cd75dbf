"""sailctl against a real local mesh, as a user runs it: demo -d, status, proxy-status,
proxy-config, logs, exec, apply, create secret, down — and nothing left afterwards."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import sailctl, skip_unless_netns

from sailmesh.runtime.sandbox import netns

pytestmark = pytest.mark.e2e

skip_unless_netns()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, str]]:
    home = tmp_path_factory.mktemp("demo-home")
    out = sailctl(home, "demo", "-d")
    run_id = re.search(r"\(run ([0-9a-f]+)\)", out)
    port = re.search(r"port 8080 -> http://127\.0\.0\.1:(\d+)/", out)
    assert run_id and port, out
    try:
        yield home, int(port.group(1)), run_id.group(1)
    finally:
        print(sailctl(home, "down", check=False))
        prefix = netns.RunNames(run_id.group(1)).prefix
        assert netns.list_netns(prefix) == []
        assert not (home / "run" / "api.sock").exists()


def test_demo_serves_productpage_through_the_gateway(demo: tuple[Path, int, str]) -> None:
    _, port, _ = demo
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/productpage", timeout=10) as resp:
        body = resp.read().decode()
    assert resp.status == 200 and "The Comedy of Errors" in body


def test_status_and_proxy_status(demo: tuple[Path, int, str]) -> None:
    home, _, _ = demo
    out = sailctl(home, "status")
    assert "netns" in out
    rows = [line for line in out.splitlines() if "productpage-v1" in line]
    assert rows and "2/2" in rows[0] and "Running" in rows[0] and "SYNCED" in rows[0], out
    out = sailctl(home, "proxy-status")
    assert out.splitlines()[0].split()[:5] == ["NAME", "CDS", "LDS", "EDS", "RDS"]
    assert "(gateway)" in out and out.count("SYNCED") >= 4 * 7, out


def test_proxy_config_reads_envoy(demo: tuple[Path, int, str]) -> None:
    home, _, _ = demo
    clusters = sailctl(home, "proxy-config", "cluster", "deploy/productpage-v1")
    assert re.search(
        r"reviews\.default\.svc\.cluster\.local\s+9080\s+v1\s+outbound\s+EDS\s+reviews\.default",
        clusters,
    ), clusters
    listeners = sailctl(home, "proxy-config", "listener", "deploy/productpage-v1")
    assert "15001" in listeners and "15006" in listeners and "Route: 9080" in listeners
    endpoints = sailctl(home, "proxy-config", "endpoint", "deploy/productpage-v1")
    assert re.search(
        r"10\.244\.\d+\.\d+:9080\s+HEALTHY\s+OK\s+outbound\|9080\|v3\|reviews", endpoints
    ), endpoints
    sailctl(home, "apply", "-f", "samples/bookinfo/networking/virtual-service-all-v1.yaml")
    import time

    # The VIRTUAL SERVICE column names reviews once the applied route reached Envoy.
    applied = r"9080\s+reviews\.default\.svc\.cluster\.local:9080\s+\S+.*\s/\*\s+reviews\.default"
    deadline = time.monotonic() + 10
    while not re.search(
        applied, routes := sailctl(home, "proxy-config", "route", "deploy/productpage-v1")
    ):
        assert time.monotonic() < deadline, routes
        time.sleep(0.2)
    assert '"node"' in sailctl(home, "proxy-config", "bootstrap", "deploy/productpage-v1")


def test_logs_and_exec(demo: tuple[Path, int, str]) -> None:
    home, port, _ = demo
    urllib.request.urlopen(f"http://127.0.0.1:{port}/productpage", timeout=10).read()
    out = sailctl(home, "logs", "deploy/productpage-v1")
    assert "GET /productpage" in out
    out = sailctl(
        home,
        "exec",
        "deploy/ratings-v1",
        "--",
        "python3",
        "-c",
        "import urllib.request as u; print(u.urlopen('http://details:9080/details/0').read().decode())",
    )
    assert "William Shakespeare" in out
    out = sailctl(home, "exec", "deploy/ratings-v1", "--", "id", "-u")
    assert out.strip() == "65534", "apps run as an unprivileged user"


def write_self_signed(cert: Path, key: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bookinfo.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_create_secret_tls(demo: tuple[Path, int, str], tmp_path: Path) -> None:
    home, _, _ = demo
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    write_self_signed(cert, key)
    out = sailctl(
        home,
        "create",
        "secret",
        "tls",
        "bookinfo-cert",
        "-n",
        "istio-system",
        "--cert",
        str(cert),
        "--key",
        str(key),
    )
    assert "secret/bookinfo-cert created" in out
    out = sailctl(home, "get", "secrets", "bookinfo-cert", "-n", "istio-system", "-o", "yaml")
    assert "kubernetes.io/tls" in out and "tls.crt" in out
    bad = sailctl(
        home,
        "create",
        "secret",
        "tls",
        "broken",
        "--cert",
        str(key),
        "--key",
        str(cert),
        check=False,
    )
    assert "certificate" in bad.lower() and "error" in bad.lower()
