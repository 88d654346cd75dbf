"""The sandbox's exception tree."""

from __future__ import annotations

from collections.abc import Sequence

from sailmesh.errors import SandboxError

__all__ = ["CommandFailed", "ModeUnavailable", "SandboxError"]


class CommandFailed(SandboxError):
    """A system command (``ip``, ``iptables-restore``, ...) exited with a non-zero status."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(self.argv)!s} exited {returncode}: {stderr.strip()}")


class ModeUnavailable(SandboxError):
    """The requested sandbox mode cannot run on this machine (the message says why)."""
