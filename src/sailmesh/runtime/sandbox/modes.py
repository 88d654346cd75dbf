"""Which sandbox mode this machine supports, and why.

- ``netns``: root, ``ip`` with ``ip netns``, ``iptables-restore``, ``setpriv`` and network
  namespaces: pods get their own namespaces, IPs and transparent capture (owner match on 1337).
- ``userns``: unprivileged user namespaces allowed (``unshare --user --map-root-user --net``)
  and ``iptables-nft-restore`` present: the same capture inside a user namespace, with Envoy's
  upstream sockets recognised by ``SO_MARK`` instead of their owner.
- ``explicit``: always available: no capture; apps reach their sidecar through
  ``http_proxy``/``HTTP_PROXY`` (see :func:`sailmesh.runtime.sandbox.pod.explicit_proxy_env`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sailmesh.runtime.sandbox.errors import ModeUnavailable


class Mode(StrEnum):
    """Sandbox modes, best first."""

    NETNS = "netns"
    USERNS = "userns"
    EXPLICIT = "explicit"


@dataclass(frozen=True)
class ModeReport:
    """The chosen mode, why, and why each better mode was not available."""

    mode: Mode
    reason: str
    unavailable: dict[Mode, str]

    def describe(self) -> str:
        """One human-readable paragraph for ``sailctl up`` and logs."""
        text = f"sandbox mode: {self.mode.value} ({self.reason})"
        skipped = [f"{m.value}: {why}" for m, why in self.unavailable.items()]
        return text + ("; not available: " + "; ".join(skipped) if skipped else "")


def _succeeds(argv: list[str]) -> str | None:
    """None when ``argv`` exits 0, else a short reason."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(argv)}` failed: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return f"`{' '.join(argv)}` failed: {detail[0]}"
    return None


def _missing(*tools: str) -> str | None:
    absent = [t for t in tools if shutil.which(t) is None]
    return f"missing commands: {', '.join(absent)}" if absent else None


def probe_netns() -> str | None:
    """None when ``netns`` mode works here, else why not."""
    if os.geteuid() != 0:
        return "needs root (creating network namespaces and iptables rules)"
    missing = _missing("ip", "iptables-restore", "setpriv", "unshare")
    if missing:
        return missing + " (Debian packages iptables, iproute2, util-linux)"
    return _succeeds(["unshare", "--net", "true"]) or _succeeds(["ip", "netns", "list"])


def probe_userns() -> str | None:
    """None when ``userns`` mode works here, else why not."""
    missing = _missing("unshare", "ip", "iptables-nft-restore")
    if missing:
        return missing
    return _succeeds(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"])


PROBES: dict[Mode, Callable[[], str | None]] = {
    Mode.NETNS: probe_netns,
    Mode.USERNS: probe_userns,
    Mode.EXPLICIT: lambda: None,
}

REASONS = {
    Mode.NETNS: "root with network namespaces and iptables: transparent capture by owner uid 1337",
    Mode.USERNS: "unprivileged user namespaces: transparent capture, proxy recognised by SO_MARK",
    Mode.EXPLICIT: "no namespaces available: apps use http_proxy to reach their sidecar",
}


def parse_mode(value: str) -> Mode:
    """Validate a ``--mode`` value (``auto`` is handled by :func:`detect_mode`)."""
    try:
        return Mode(value.strip().lower())
    except ValueError:
        choices = ", ".join(["auto", *(m.value for m in Mode)])
        raise ValueError(f"unknown sandbox mode {value!r}; choose one of: {choices}") from None


def detect_mode(override: str | None = None) -> ModeReport:
    """Pick the best available mode, or check that the ``override`` is available.

    Raises :class:`ModeUnavailable` when an explicitly requested mode cannot run here.
    """
    if override is not None and override.strip().lower() != "auto":
        mode = parse_mode(override)
        why = PROBES[mode]()
        if why is not None:
            raise ModeUnavailable(f"sandbox mode {mode.value} is not available: {why}")
        return ModeReport(mode, f"requested; {REASONS[mode]}", {})
    unavailable: dict[Mode, str] = {}
    for mode in Mode:
        why = PROBES[mode]()
        if why is None:
            return ModeReport(mode, REASONS[mode], unavailable)
        unavailable[mode] = why
    raise AssertionError("explicit mode is always available")  # pragma: no cover
