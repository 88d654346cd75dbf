"""Golden tests of the rendered capture rules (refresh: SAILMESH_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sailmesh.runtime.sandbox.capture import CaptureConfig, Variant, render_rules

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, tuple[CaptureConfig, Variant]] = {
    "capture_default_owner": (CaptureConfig(), "owner"),
    "capture_default_mark": (CaptureConfig(), "mark"),
    "capture_exclusions_owner": (
        CaptureConfig(
            inbound_excluded_ports=(8080, 15020),
            outbound_excluded_ports=(3306,),
            outbound_excluded_cidrs=("10.96.0.1/32",),
        ),
        "owner",
    ),
    "capture_outbound_only_mark": (CaptureConfig(capture_inbound=False, proxy_mark=0x1), "mark"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_rules_match_golden(case: str) -> None:
    cfg, variant = CASES[case]
    text = render_rules(cfg, variant)
    path = GOLDEN / f"{case}.rules"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_istio_invariants_in_default_rules() -> None:
    lines = render_rules().splitlines()
    out = [line for line in lines if line.startswith("-A ISTIO_OUTPUT")]
    # The inbound passthrough source is exempt before anything else can redirect it.
    assert out[0] == "-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN"
    assert out[-1] == "-A ISTIO_OUTPUT -j ISTIO_REDIRECT"
    assert "-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN" in out
    assert "-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN" in out
    for port in (15000, 15001, 15006, 15020, 15021, 15090):
        assert f"-A ISTIO_INBOUND -p tcp --dport {port} -j RETURN" in lines
    assert "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001" in lines
    assert "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006" in lines


def test_mark_variant_has_no_owner_match() -> None:
    text = render_rules(variant="mark")
    assert "owner" not in text
    assert "-A ISTIO_OUTPUT -m mark --mark 0x539 -j RETURN" in text


@pytest.mark.skipif(shutil.which("iptables-restore") is None, reason="iptables not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_rules_parse_with_iptables_restore_test_mode(case: str) -> None:
    # --test parses and checks the script without committing it (no rule is installed).
    if os.geteuid() != 0:
        pytest.skip("iptables-restore --test needs CAP_NET_ADMIN")
    cfg, variant = CASES[case]
    proc = subprocess.run(
        ["unshare", "--net", "iptables-restore", "--test"],
        input=render_rules(cfg, variant),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
