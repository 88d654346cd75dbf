"""Virtual IPs for Services: ``clusterIP`` when given, else a stable address from 10.96.0.0/16.

The address is derived from the service's namespace/name (probing on collision), so the same
service gets the same VIP across control-plane restarts. VIPs only ever exist inside the pod
namespaces' routing (captured by iptables), never on a host interface.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading

SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/16")


class VipAllocator:
    def __init__(self, cidr: ipaddress.IPv4Network = SERVICE_CIDR) -> None:
        self._cidr = cidr
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], str] = {}
        self._taken: dict[str, tuple[str, str]] = {}

    def allocate(self, namespace: str, name: str, requested: str | None = None) -> str | None:
        """The VIP of ``namespace/name``; ``requested`` is ``spec.clusterIP`` (``None`` = headless)."""
        key = (namespace, name)
        if requested == "None":
            return None
        with self._lock:
            if requested:
                self._by_key[key] = requested
                self._taken[requested] = key
                return requested
            if key in self._by_key:
                return self._by_key[key]
            size = self._cidr.num_addresses - 2
            digest = int.from_bytes(
                hashlib.sha256(f"{namespace}/{name}".encode()).digest()[:4], "big"
            )
            for probe in range(size):
                address = str(self._cidr.network_address + 1 + (digest + probe) % size)
                if address not in self._taken:
                    self._by_key[key] = address
                    self._taken[address] = key
                    return address
        raise RuntimeError(f"service CIDR {self._cidr} is full")

    def release(self, namespace: str, name: str) -> None:
        with self._lock:
            address = self._by_key.pop((namespace, name), None)
            if address is not None:
                self._taken.pop(address, None)
