"""Who is on the other end of a pod's SDS socket, and whether that is the pod's Envoy.

The kernel tells the agent the connecting process's pid, uid and gid (``SO_PEERCRED``, recorded
at ``connect()``; a client cannot forge it). The agent then compares that process's network
namespace (``/proc/<pid>/ns/net``: the nsfs device and inode) with the pod's, and its uid with
the uids the pod's Envoy runs as (1337 in the netns mode). Both must match.

What this stops: another pod's Envoy (same uid 1337, other namespace), any process of another
user on the host, and a host process of the same uid outside the pod's namespace; the socket
file is also owned by the agent and mode 0600/0660 (group of the Envoy's gid) inside the pod's
work dir, so most of them cannot even ``connect()``. What it does not stop: root on the host
(it can enter the pod's namespace, read the agent's memory or the CA's files), and a process
that runs inside the pod's network namespace with the Envoy's uid (the workload itself, if it
ran as 1337: Istio's sidecar model has the same boundary). A pid reused between ``connect()``
and the check would be judged by the new process; pids are not reused while a connection's
process lives, and an exited client's connection is closed. (Linux 6.5's ``SO_PEERPIDFD``
would remove even that window.) A refused peer is logged with its pid and uid and closed.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

NetnsId = tuple[int, int]
"""A network namespace: the (st_dev, st_ino) of its nsfs inode."""


@dataclass(frozen=True)
class PeerCredentials:
    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials:
    """The connecting process of a Unix stream socket, as the kernel recorded it."""
    size = struct.calcsize("3i")
    pid, uid, gid = struct.unpack(
        "3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
    )
    return PeerCredentials(pid, uid, gid)


def netns_of_pid(pid: int) -> NetnsId | None:
    """The network namespace of process ``pid`` (None when it is gone or not ours to read)."""
    try:
        info = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def netns_of_file(path: str) -> NetnsId:
    """The network namespace a bind-mounted (``/run/netns/<name>``) or ``/proc`` file names."""
    info = os.stat(path)
    return (info.st_dev, info.st_ino)


@dataclass(frozen=True)
class PodPeerPolicy:
    """Who may use a pod's SDS socket: processes in ``netns`` running as one of ``uids``."""

    netns: NetnsId
    uids: frozenset[int]

    def refusal(self, peer: PeerCredentials, peer_netns: NetnsId | None) -> str | None:
        """Why ``peer`` (in ``peer_netns``) is refused, or None when it is allowed."""
        if peer.pid <= 0:
            return "no peer process"
        if peer.uid not in self.uids:
            return f"uid {peer.uid} is not the pod's Envoy's"
        if peer_netns is None:
            return f"network namespace of pid {peer.pid} unknown"
        if peer_netns != self.netns:
            return f"pid {peer.pid} is outside the pod's network namespace"
        return None

    def check(self, sock: socket.socket) -> str | None:
        """:meth:`refusal` for the process connected on ``sock``."""
        peer = peer_credentials(sock)
        return self.refusal(peer, netns_of_pid(peer.pid))
