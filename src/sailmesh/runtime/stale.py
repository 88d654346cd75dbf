"""Runs that did not stop: a mesh killed with SIGKILL leaves its pods, namespaces, agent,
files and API socket behind.

In: the run directory of a mesh home (``$SAILMESH_HOME/run``), whose ``mesh.pid`` reads
``<pid> <run_id>`` while a mesh runs. Out: when that pid is gone (or is no sailmesh process any
more, the pid having been reused), everything of the run removed
(:func:`~sailmesh.runtime.sandbox.netns.cleanup`: its processes, the userns agent with its
namespaces, namespaces, ``/etc/netns`` entries, work directory) plus the API socket and the
pidfile; the run id is returned so the caller can say so.
"""

from __future__ import annotations

from pathlib import Path

from sailmesh.runtime.sandbox import netns

PIDFILE = "mesh.pid"
API_SOCKET = "api.sock"


def read_pidfile(run_dir: Path) -> tuple[int, str] | None:
    """``(pid, run_id)`` of the pidfile in ``run_dir``; None when there is none (or it is not
    one: a half-written file of a run that died while starting)."""
    try:
        pid, run_id = (run_dir / PIDFILE).read_text().split()
        netns.RunNames(run_id)  # a valid run id, or ValueError
        return int(pid), run_id
    except (OSError, ValueError):
        return None


def is_sailmesh_process(pid: int) -> bool:
    """Whether ``pid`` runs (not a zombie) and is a sailmesh process."""
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and ("sailmesh" in cmdline or "sailctl" in cmdline)


def clean_dead_run(run_dir: Path) -> str | None:
    """Remove the run of ``run_dir``'s pidfile if its process is gone; the run id, else None."""
    found = read_pidfile(run_dir)
    if found is None or is_sailmesh_process(found[0]):
        return None
    netns.cleanup(found[1])
    (run_dir / API_SOCKET).unlink(missing_ok=True)
    (run_dir / PIDFILE).unlink(missing_ok=True)
    return found[1]
