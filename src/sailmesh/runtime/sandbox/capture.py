"""Istio's iptables capture rules, rendered as an ``iptables-restore`` script for one pod.

The rules are those ``istio-iptables`` installs for a default sidecar (REDIRECT mode, all
outbound ranges captured, all inbound ports captured), in the ``nat`` table:

- ``PREROUTING`` → ``ISTIO_INBOUND``: TCP to any port except the proxy's own ports (15000,
  15001, 15006, 15008, 15020, 15021, 15090) and configured exclusions → ``ISTIO_IN_REDIRECT``
  (→ 15006).
- ``OUTPUT`` → ``ISTIO_OUTPUT``, in order:
  1. source 127.0.0.6 over ``lo`` → RETURN: the inbound passthrough (Envoy connects to the app
     from 127.0.0.6, so that connection must reach the app untouched);
  2. the proxy calling a non-127.0.0.1 local address over ``lo`` (its own pod IP) →
     ``ISTIO_IN_REDIRECT``, so a pod calling itself through a service goes through inbound;
  3. anything else over ``lo`` not from the proxy → RETURN (app-local traffic);
  4. anything from the proxy → RETURN (Envoy's upstream traffic is never re-captured);
  5. to 127.0.0.1 → RETURN; excluded ports / CIDRs → RETURN; the rest → ``ISTIO_REDIRECT``
     (→ 15001).

"The proxy" is recognised by the socket owner (uid and gid 1337, ``-m owner``) in ``netns``
mode. In ``userns`` mode every process runs as the namespace's root, so owner matching cannot
tell Envoy apart: Envoy instead marks its upstream sockets with ``SO_MARK`` (see
:func:`envoy_mark_socket_options`) and the rules skip packets carrying that mark.

The script replaces the whole ``nat`` table of the namespace it is applied in (idempotent);
it is only ever applied inside a pod namespace this runtime created.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.netns import exec_argv, run

PROXY_UID = 1337
PROXY_GID = 1337
INBOUND_PASSTHROUGH_SOURCE = "127.0.0.6"
DEFAULT_INBOUND_EXCLUDED = (15000, 15001, 15006, 15008, 15020, 15021, 15090)
SOL_SOCKET = 1
SO_MARK = 36

Variant = Literal["owner", "mark"]


@dataclass(frozen=True)
class CaptureConfig:
    """Settings of the capture rules (defaults are Istio's sidecar defaults)."""

    outbound_port: int = 15001
    inbound_port: int = 15006
    proxy_uid: int = PROXY_UID
    proxy_gid: int = PROXY_GID
    proxy_mark: int = PROXY_UID
    inbound_excluded_ports: Sequence[int] = field(default=())
    outbound_excluded_ports: Sequence[int] = field(default=())
    outbound_excluded_cidrs: Sequence[str] = field(default=())
    capture_inbound: bool = True

    def all_inbound_excluded(self) -> list[int]:
        """Istio's own ports plus the configured exclusions, deduplicated, in order."""
        ports = [*DEFAULT_INBOUND_EXCLUDED, self.outbound_port, self.inbound_port]
        return list(dict.fromkeys([*ports, *self.inbound_excluded_ports]))


def _proxy_matches(cfg: CaptureConfig, variant: Variant) -> list[tuple[str, str]]:
    """``(match, negated match)`` pairs identifying the proxy's packets."""
    if variant == "mark":
        mark = f"0x{cfg.proxy_mark:x}"
        return [(f"-m mark --mark {mark}", f"-m mark ! --mark {mark}")]
    return [
        (f"-m owner --uid-owner {cfg.proxy_uid}", f"-m owner ! --uid-owner {cfg.proxy_uid}"),
        (f"-m owner --gid-owner {cfg.proxy_gid}", f"-m owner ! --gid-owner {cfg.proxy_gid}"),
    ]


def _inbound_rules(cfg: CaptureConfig) -> list[str]:
    if not cfg.capture_inbound:
        return []
    rules = ["-A PREROUTING -p tcp -j ISTIO_INBOUND"]
    rules += [f"-A ISTIO_INBOUND -p tcp --dport {p} -j RETURN" for p in cfg.all_inbound_excluded()]
    rules.append("-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT")
    return rules


def _outbound_rules(cfg: CaptureConfig, variant: Variant) -> list[str]:
    out = "-A ISTIO_OUTPUT"
    rules = [
        "-A OUTPUT -p tcp -j ISTIO_OUTPUT",
        f"{out} -o lo -s {INBOUND_PASSTHROUGH_SOURCE}/32 -j RETURN",
    ]
    rules += [f"{out} -p tcp --dport {p} -j RETURN" for p in cfg.outbound_excluded_ports]
    for match, negated in _proxy_matches(cfg, variant):
        rules += [
            f"{out} -o lo ! -d 127.0.0.1/32 {match} -j ISTIO_IN_REDIRECT",
            f"{out} -o lo {negated} -j RETURN",
            f"{out} {match} -j RETURN",
        ]
    rules.append(f"{out} -d 127.0.0.1/32 -j RETURN")
    rules += [f"{out} -d {cidr} -j RETURN" for cidr in cfg.outbound_excluded_cidrs]
    rules.append(f"{out} -j ISTIO_REDIRECT")
    return rules


def render_rules(cfg: CaptureConfig | None = None, variant: Variant = "owner") -> str:
    """Render the ``iptables-restore`` script (pure): ``owner`` (netns) or ``mark`` (userns)."""
    cfg = cfg or CaptureConfig()
    chains = ["ISTIO_INBOUND", "ISTIO_REDIRECT", "ISTIO_IN_REDIRECT", "ISTIO_OUTPUT"]
    lines = [
        "# sailmesh pod traffic capture (Istio sidecar rules), nat table only",
        f"# variant: {variant}",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        *[f":{chain} - [0:0]" for chain in chains],
        f"-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports {cfg.outbound_port}",
        f"-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports {cfg.inbound_port}",
        *_inbound_rules(cfg),
        *_outbound_rules(cfg, variant),
        "COMMIT",
    ]
    return "\n".join(lines) + "\n"


def restore_binary() -> str:
    """``iptables-nft-restore`` when present (it needs no host lock file, so it also works in
    a user namespace), else ``iptables-restore``."""
    for name in ("iptables-nft-restore", "iptables-restore"):
        path = shutil.which(name)
        if path:
            return path
    raise SandboxError("iptables-restore not found (install the Debian package 'iptables')")


def apply_rules(netns: str, script: str) -> None:
    """Apply ``script`` inside the named pod namespace (replacing its nat table)."""
    run(exec_argv(netns, [restore_binary()]), input_text=script)


def dump_rules(netns: str) -> str:
    """The nat table of the namespace, as ``iptables-save`` prints it."""
    save = restore_binary().replace("-restore", "-save")
    return run(exec_argv(netns, [save, "-t", "nat"]))


def envoy_mark_socket_options(mark: int = PROXY_UID) -> list[dict[str, object]]:
    """Envoy ``socket_options`` setting ``SO_MARK`` (for a cluster's ``upstream_bind_config``)
    so the ``mark`` variant of the rules recognises the proxy's upstream connections."""
    return [{"level": SOL_SOCKET, "name": SO_MARK, "int_value": mark, "state": "STATE_PREBIND"}]
