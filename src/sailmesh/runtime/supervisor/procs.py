"""Process plumbing for the pod supervisor: a default spawner, group signals, reaping, logs.

Containers run in their own session, so a container is the process group whose id is the
pid of its main process. Signals go to that group by pid (``os.killpg``), never by name.
When a container's main process exits, the rest of its group is SIGKILLed *before* the main
process is reaped: while the main process is a zombie its pid (and so the group id) cannot be
reused, so the kill can only reach the container's own leftovers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Generator
from pathlib import Path
from typing import BinaryIO

from sailmesh.runtime.supervisor.types import ContainerSpec

log = logging.getLogger(__name__)

_BLOCK = 8192


def popen_spawner(spec: ContainerSpec, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``spec`` directly on this host, appending stdout and stderr to ``log_path``.

    The environment is exactly ``spec.env`` plus ``PATH`` (inherited unless given). The
    process gets its own session so that the supervisor can signal its process group.
    """
    env = {"PATH": os.environ.get("PATH", os.defpath)} | dict(spec.env)
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            list(spec.argv),
            env=env,
            cwd=spec.working_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    """Send ``sig`` to the process group of ``proc`` (falling back to the pid alone).

    Returns whether a signal was delivered; a group or process that is already gone is not
    an error.
    """
    if proc.returncode is not None:
        return False
    try:
        os.killpg(proc.pid, sig)
        return True
    except ProcessLookupError:
        pass  # not a group leader (spawner without start_new_session): signal the pid
    except PermissionError as exc:
        log.warning("cannot signal process group %d: %s", proc.pid, exc)
    try:
        proc.send_signal(sig)
        return proc.returncode is None
    except (ProcessLookupError, PermissionError):
        return False


def reap(proc: subprocess.Popen[bytes]) -> int | None:
    """The return code of ``proc`` if it has exited (its group's leftovers killed), else None."""
    if proc.returncode is not None:
        return proc.returncode
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return proc.poll()
    if info is None:
        return None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers only: the leader is a zombie
    return proc.wait()


def _tail_lines(f: BinaryIO, end: int, lines: int) -> list[str]:
    """The last ``lines`` lines of ``f[:end]``, read backwards in blocks."""
    if lines <= 0 or end <= 0:
        return []
    data = b""
    pos = end
    while pos > 0 and data.count(b"\n") <= lines:
        step = min(_BLOCK, pos)
        pos -= step
        f.seek(pos)
        data = f.read(step) + data
    text = data.decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]


def tail(path: Path, lines: int = 10) -> list[str]:
    """The last ``lines`` lines of the log at ``path`` (``[]`` if it does not exist)."""
    try:
        with open(path, "rb") as f:
            return _tail_lines(f, f.seek(0, os.SEEK_END), lines)
    except FileNotFoundError:
        return []


def follow(
    path: Path,
    *,
    lines: int = 10,
    stop: threading.Event | None = None,
    interval: float = 0.2,
) -> Generator[str, None, None]:
    """Yield the last ``lines`` lines of ``path``, then each line appended to it.

    For ``sailctl logs -f``: runs until ``stop`` is set (or the generator is closed), waiting
    ``interval`` seconds between looks; a file that does not exist yet is waited for, and a
    truncated file is read again from its start. Once stopped it reads what is left once
    (a partial last line included) and ends.
    """
    halt = stop if stop is not None else threading.Event()
    f: BinaryIO | None = None
    pos = 0
    partial = b""
    existed = path.exists()  # a file created later is read from its start
    try:
        while True:
            stopping = halt.is_set()  # one last read after stop is asked for
            if f is None:
                with contextlib.suppress(FileNotFoundError):
                    f = open(path, "rb")  # noqa: SIM115 - kept open across yields
                    if existed:
                        pos = f.seek(0, os.SEEK_END)
                        yield from _tail_lines(f, pos, lines)
                        f.seek(pos)
            chunk = b""
            if f is not None:
                if os.fstat(f.fileno()).st_size < pos:
                    pos, partial = f.seek(0), b""
                chunk = f.read()
                pos += len(chunk)
            if chunk:
                *complete, partial = (partial + chunk).split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", errors="replace")
            if stopping:
                break
            if not chunk:
                halt.wait(interval)
        if partial:
            yield partial.decode("utf-8", errors="replace")
    finally:
        if f is not None:
            f.close()
