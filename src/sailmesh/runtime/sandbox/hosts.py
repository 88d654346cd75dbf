"""Per-pod hosts files: service names resolve to virtual IPs.

``ip netns exec <ns>`` bind-mounts every file of ``/etc/netns/<ns>/`` over the file of the same
name in ``/etc`` (in a private mount namespace of the started process). The hosts file is
therefore written to ``/etc/netns/<ns>/hosts`` and *edited in place* (same inode, truncated and
rewritten): a bind mount pins the inode, so a rename would leave running processes on the old
file, while an in-place write is visible to them at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ETC_NETNS = Path("/etc/netns")
CLUSTER_DOMAIN = "cluster.local"

# With no reachable name server, lookups of unknown names should fail at once rather than time
# out: 127.0.0.1:53 inside the pod answers "port unreachable" immediately.
RESOLV_CONF = (
    "# written by sailmesh: names resolve through the hosts file only\nnameserver 127.0.0.1\n"
)


@dataclass(frozen=True)
class ServiceName:
    """A service and its virtual IP, as seen by name resolution."""

    name: str
    namespace: str
    vip: str

    def names(self, client_namespace: str) -> list[str]:
        """Names that resolve to this service for a client in ``client_namespace``.

        As with Kubernetes search domains, the short name only resolves in the same namespace.
        """
        base = f"{self.name}.{self.namespace}"
        fqdn = [base, f"{base}.svc", f"{base}.svc.{CLUSTER_DOMAIN}"]
        return ([self.name] if self.namespace == client_namespace else []) + fqdn


def render_hosts(
    pod_name: str, pod_ip: str | None, namespace: str, services: Iterable[ServiceName]
) -> str:
    """Render the hosts file of a pod (pure; services sorted for stable output)."""
    lines = [
        "# written by sailmesh; edited in place when services change",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
    ]
    if pod_ip:
        lines.append(f"{pod_ip}\t{pod_name}")
    for svc in sorted(services, key=lambda s: (s.namespace, s.name)):
        lines.append(f"{svc.vip}\t{' '.join(svc.names(namespace))}")
    return "\n".join(lines) + "\n"


def netns_etc_dir(netns: str) -> Path:
    """The directory whose files ``ip netns exec`` mounts over ``/etc`` for ``netns``."""
    return ETC_NETNS / netns


def write_in_place(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` keeping its inode (create it, mode 0644, if missing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.truncate(0)
        f.write(text)
    os.chmod(path, 0o644)


def write_netns_files(netns: str, hosts_text: str) -> Path:
    """Create (idempotently) ``/etc/netns/<netns>/{hosts,resolv.conf}``; return the hosts path."""
    directory = netns_etc_dir(netns)
    directory.mkdir(parents=True, exist_ok=True)
    write_in_place(directory / "resolv.conf", RESOLV_CONF)
    hosts = directory / "hosts"
    write_in_place(hosts, hosts_text)
    return hosts
