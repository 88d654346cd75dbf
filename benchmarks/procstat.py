"""What the kernel says about a process tree: descendants, memory (RSS, PSS, private) and CPU
time, from ``/proc``. Shared by the benchmarks that measure running meshes."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def kib(path: Path, key: str) -> int | None:
    """The kB value of the ``key:`` line of a /proc file (None if absent or unreadable)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kib(pid: int) -> int:
    return kib(Path(f"/proc/{pid}/status"), "VmRSS") or 0


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    found = kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss")
    return found if found is not None else rss_kib(pid)


def private_kib(pid: int) -> int:
    """Pages only this process maps (clean + dirty)."""
    rollup = Path(f"/proc/{pid}/smaps_rollup")
    return (kib(rollup, "Private_Clean") or 0) + (kib(rollup, "Private_Dirty") or 0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out
