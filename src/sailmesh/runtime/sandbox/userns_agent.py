"""The userns node agent: the process that owns a run's user, mount and network namespaces.

Started (by :class:`sailmesh.runtime.sandbox.userns.UsernsNode`) as
``unshare --user --map-root-user --net --mount --fork --kill-child python3 userns_agent.py SOCK``
by an unprivileged user. Inside, it is "root" of its user namespace, so it (and every process
the runtime starts there with ``nsenter --target <agent> --user --mount``) may create network
namespaces, links and nftables rules. It:

- mounts a private tmpfs on ``/run/netns`` (on ``/run`` when the host has no ``/run/netns``), so
  ``ip netns add`` works and the namespaces it names exist only in this mount namespace;
- serves ``SOCK`` (a Unix socket, mode 0600): each connection sends one JSON line
  ``{"op": "socket", "ns": NAME, "family": 2}`` and receives a new TCP socket created inside
  ``/run/netns/NAME`` (passed with ``SCM_RIGHTS``), or ``{"op": "ping"}``. The runtime, which
  cannot enter these namespaces itself, connects and pumps such sockets (forwarders, probes,
  the admin API);
- prints ``ready <pid>`` on stdout once serving, and exits on SIGTERM. Its namespaces die with
  it (the runtime kills the pods' processes first).

Standard library only: it runs with the system ``python3`` as the unprivileged user.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


def private_netns_dir() -> None:
    """A tmpfs on /run/netns (or on /run, creating /run/netns) private to this namespace."""
    target = str(NETNS_DIR) if NETNS_DIR.is_dir() else "/run"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", target], check=True)
    NETNS_DIR.mkdir(exist_ok=True)


def socket_in(ns: str, family: int) -> socket.socket:
    """A TCP socket created inside the named namespace (by a throwaway thread)."""
    if "/" in ns or ns in ("", ".", ".."):
        raise ValueError(f"bad namespace name {ns!r}")
    result: list[socket.socket | BaseException] = []

    def make() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({ns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(socket.socket(family, socket.SOCK_STREAM))
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=make, daemon=True)
    worker.start()
    worker.join()
    made = result[0]
    if isinstance(made, BaseException):
        raise made
    return made


def handle(conn: socket.socket) -> None:
    with conn:
        try:
            conn.settimeout(10)
            line = conn.makefile("rb").readline()
            request = json.loads(line)
            if request.get("op") == "ping":
                conn.sendall(b'{"ok": true}\n')
                return
            if request.get("op") != "socket":
                raise ValueError(f"unknown op {request.get('op')!r}")
            made = socket_in(str(request["ns"]), int(request.get("family", socket.AF_INET)))
            with made:
                socket.send_fds(conn, [b'{"ok": true}\n'], [made.fileno()])
        except Exception as exc:
            reply = json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
            with contextlib.suppress(OSError):
                conn.sendall(reply.encode() + b"\n")


def main() -> None:
    path = sys.argv[1]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    private_netns_dir()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(64)
    print(f"ready {os.getpid()}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
