"""``proxy-config secret``'s rows from an Envoy SecretsConfigDump: a chain by its leaf, a
trust bundle by each of its roots, warming secrets, validity against "now"."""

from __future__ import annotations

import base64
from typing import Any

from sailmesh.ca.authority import Authority, self_signed_root
from sailmesh.ca.csr import make_csr
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.keys import generate_key
from sailmesh.cli import configdump
from sailmesh.clock import ManualClock

ME = SpiffeId("cluster.local", "shop", "echo")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _dump(chain: bytes, roots: bytes) -> dict[str, Any]:
    secrets = {
        "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
        "dynamic_active_secrets": [
            {
                "name": "default",
                "secret": {
                    "tls_certificate": {
                        "certificate_chain": {"inline_bytes": _b64(chain)},
                        "private_key": {"inline_bytes": _b64(b"[redacted]")},
                    }
                },
            },
            {"name": "ROOTCA", "secret": {"validation_context": {"trusted_ca": {"inline_string": roots.decode()}}}},
        ],
        "dynamic_warming_secrets": [{"name": "file-cert"}],
    }  # fmt: skip
    return {
        "configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"}, secrets]
    }


def test_rows_in_istioctls_columns() -> None:
    clock = ManualClock()  # wall time 1,700,000,000: 2023-11-14T22:13:20Z
    authority = Authority(self_signed_root("cluster.local", clock.wall()), clock, default_ttl=3600)
    other = self_signed_root("cluster.local", clock.wall(), common_name="Root CA 2")
    authority.trust_root(other)
    issued = authority.sign(make_csr(generate_key(), ME), ME)
    dump = _dump(issued.chain_pem, authority.trust_bundle())
    rows = configdump.secrets(dump, clock.wall())
    default, root, second, warming = rows
    assert default[:4] == ("default", "Cert Chain", "ACTIVE", "true")
    assert default[4] == issued.serial_hex
    assert default[5] == "2023-11-14T23:13:20Z" and default[6] == "2023-11-14T22:12:20Z"
    roots = authority.trust_roots()
    assert [root[:5], second[:5]] == [
        ("ROOTCA", "CA", "ACTIVE", "true", format(r.serial_number, "x")) for r in roots
    ]
    assert warming == ("file-cert", "", "WARMING", "false", "", "", "")
    later = configdump.secrets(dump, clock.wall() + 2 * 3600)
    assert later[0][3] == "false"  # the leaf has expired by then
    assert configdump.secrets_section(dump)["dynamic_warming_secrets"] == [{"name": "file-cert"}]
    assert configdump.secrets({"configs": []}, clock.wall()) == []
