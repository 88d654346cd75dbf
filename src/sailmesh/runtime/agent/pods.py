"""Workload identities for the pods of a run: one :class:`~sailmesh.runtime.agent.workload.
WorkloadAgent` per pod with a sidecar or a gateway, on an event loop of its own.

In: an :class:`IdentityIssuer` (the CA's signer and the secret renderer, bound by
:mod:`sailmesh.app`; the runtime never builds a signer itself), the uid and gid a pod's Envoy
has as seen from the host (the run's sandbox mode says which), and per pod its namespace,
service account, certificate lifetime, work directory and network namespace file. Out: the
pod's SDS socket (``<pod work dir>/sds/socket``), started before the pod's Envoy (which the
bootstrap points at it) and stopped after it; renewal and re-issue on demand (root rotation),
and what may be shown of each pod's certificate (never its key).

Who is vouched for: the runtime started the pod from a plan naming its namespace and service
account, so the identity ``spiffe://<trust domain>/ns/<namespace>/sa/<service account>`` comes
from that plan, never from the pod, its Envoy or its CSR. Whoever may run pods (the owner of
the control plane's API socket, mode 0600) chooses the service account, as whoever may create
pods in a Kubernetes namespace does.

What an attacker on the host could do, and could not:

* another unprivileged user cannot reach a socket (a 0750 directory of root and the Envoy's
  group in netns mode, 0700 of the runtime's user in userns mode; the socket 0660/0600) and,
  if the file modes were loosened, would still be refused by the peer check (``SO_PEERCRED``
  uid and ``/proc/<pid>/ns/net`` must be the pod's Envoy's: :mod:`~sailmesh.runtime.agent.peer`);
* another pod's Envoy (uid 1337 too, in netns mode) passes the file modes but is refused by
  the network namespace check, so it cannot obtain this pod's identity;
* an app of the pod (netns mode: its own uid, ``nobody`` by default) can neither open the
  socket nor pass the uid check; in userns mode every process of the pod runs as one uid, so
  an app there can fetch its pod's certificate and key (a documented limit of that mode);
* whoever owns the control plane's API (``sailctl exec -c istio-proxy``) can run a process as
  the Envoy's user inside the pod and fetch the pod's certificate, as ``kubectl exec`` into
  ``istio-proxy`` can; they could as well start a pod with that service account;
* root on the host can do anything: read the CA's key files, enter a pod's namespaces, read
  an agent's memory.

Keys: every agent generates its pod's key in memory and hands it only to its own Envoy over
the gated socket; nothing here stores, logs or returns one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sailmesh.ca.identity import SpiffeId
from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.errors import SailmeshError
from sailmesh.runtime.agent.peer import PodPeerPolicy, netns_of_file
from sailmesh.runtime.agent.workload import CertificateInfo, SecretRenderer, Signer, WorkloadAgent

log = logging.getLogger("sailmesh.runtime")

T = TypeVar("T")
PodKey = tuple[str, str]
"""(namespace, pod name)."""

#: The pod's SDS socket, relative to its work directory (Istio: workload-spiffe-uds/socket).
SOCKET_DIR = "sds"
SOCKET_NAME = "socket"
#: How long a pod's start waits for its first certificate.
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class IdentityIssuer:
    """What the runtime needs to give pods identities, bound to the CA by the app."""

    #: The mesh's trust domain now (``meshConfig.trustDomain``).
    trust_domain: Callable[[], str]
    #: A signer issuing certificates of the given lifetime (seconds).
    signer_for: Callable[[float], Signer]
    #: ``default`` and ``ROOTCA`` as Envoy's Secret messages.
    renderer: SecretRenderer


@dataclass(frozen=True)
class PodCertificate:
    """A pod's served certificate, as status and warnings show it."""

    namespace: str
    pod: str
    info: CertificateInfo


class PodIdentities:
    """The run's node agents. ``start`` before the first pod, ``stop`` after the last."""

    def __init__(
        self,
        issuer: IdentityIssuer,
        proxy_uid: int,
        proxy_gid: int,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.issuer = issuer
        self.proxy_uid = proxy_uid
        self.proxy_gid = proxy_gid
        self._clock = clock
        self._agents: dict[PodKey, WorkloadAgent] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._later: set[concurrent.futures.Future[int]] = set()

    # --- the loop ------------------------------------------------------------------------
    def start(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sds-agents", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop every agent (removing its socket), then the loop."""
        for future in list(self._later):
            future.cancel()
        with self._lock:
            keys = list(self._agents)
        for key in keys:
            self.stop_pod(key)
        if self._loop is not None and self._thread is not None:
            self._run(asyncio.sleep(0), START_TIMEOUT)  # let the cancellations land

            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
        self._loop = self._thread = None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None:
            coro.close()
            raise SailmeshError("the node agents' loop is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # --- pods ----------------------------------------------------------------------------
    def start_pod(
        self,
        key: PodKey,
        service_account: str,
        ttl: float,
        workdir: Path,
        netns_file: Path,
    ) -> Path:
        """Start the agent of pod ``key`` (namespace, name) with its first certificate; the
        socket its Envoy must use. Raises :class:`~sailmesh.errors.SailmeshError` (the CA
        refused, the identity is malformed) or ``OSError``."""
        self.stop_pod(key)  # a pod restarted under the same name starts afresh
        namespace = key[0]
        identity = SpiffeId(self.issuer.trust_domain(), namespace, service_account)
        policy = PodPeerPolicy(netns_of_file(str(netns_file)), frozenset({self.proxy_uid}))
        socket_path = self._socket_dir(workdir) / SOCKET_NAME
        group = self.proxy_gid if os.geteuid() == 0 else None
        agent = WorkloadAgent(
            identity,
            signer=self.issuer.signer_for(ttl),
            renderer=self.issuer.renderer,
            socket_path=socket_path,
            peer_check=policy.check,
            clock=self._clock,
            socket_mode=0o660 if group is not None else 0o600,
            socket_group=group,
            private_parent=socket_path.parent,  # removed with the pod's work dir, come what may
        )
        try:
            self._run(agent.start(), START_TIMEOUT)
        except BaseException:
            self._run(agent.stop(), START_TIMEOUT)
            raise
        with self._lock:
            self._agents[key] = agent
        return socket_path

    def _socket_dir(self, workdir: Path) -> Path:
        """``<workdir>/sds``: root's with the Envoy's group (0750), or ours alone (0700)."""
        path = workdir / SOCKET_DIR
        path.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, 0, self.proxy_gid)
            os.chmod(path, 0o750)
        else:
            os.chmod(path, 0o700)
        return path

    def stop_pod(self, key: PodKey) -> None:
        """Stop pod ``key``'s agent (after its Envoy): its socket goes away."""
        with self._lock:
            agent = self._agents.pop(key, None)
        if agent is not None:
            self._run(agent.stop(), START_TIMEOUT)

    def agent(self, key: PodKey) -> WorkloadAgent | None:
        with self._lock:
            return self._agents.get(key)

    def certificates(self) -> list[PodCertificate]:
        """Every pod's current certificate (never its key), by namespace and pod."""
        with self._lock:
            agents = sorted(self._agents.items())
        return [
            PodCertificate(ns, name, agent.current)
            for (ns, name), agent in agents
            if agent.current is not None
        ]

    def sds_states(self) -> dict[PodKey, str]:
        """Each pod's Envoy's SDS state (see :meth:`WorkloadAgent.sds_state`)."""
        with self._lock:
            agents = list(self._agents.items())
        return {key: agent.sds_state() for key, agent in agents}

    # --- the whole run -------------------------------------------------------------------
    def renew_all(self, timeout: float = 30.0) -> int:
        """A new certificate for every pod now (with the CA's current trust bundle); how many
        agents renewed. One pod's failure is logged and does not stop the others."""
        return self._run(self._renew_all(), timeout)

    def renew_all_after(self, delay: float) -> None:
        """:meth:`renew_all` in ``delay`` seconds (on the injected clock), in the background;
        cancelled by :meth:`stop`. (The end of a root rotation's overlap: ``ROOTCA`` loses the
        old root.)"""

        async def later() -> int:
            await self._clock.asleep(delay)
            return await self._renew_all()

        if self._loop is None:
            raise SailmeshError("the node agents' loop is not running")
        future = asyncio.run_coroutine_threadsafe(later(), self._loop)
        self._later.add(future)
        future.add_done_callback(self._later.discard)

    async def _renew_all(self) -> int:
        with self._lock:
            agents = list(self._agents.values())
        results = await asyncio.gather(*(a.renew_now() for a in agents), return_exceptions=True)
        failed = [(a, r) for a, r in zip(agents, results, strict=True) if isinstance(r, Exception)]
        for agent, exc in failed:
            log.warning("SDS %s: re-issue failed: %s", agent.identity, exc)
        return len(agents) - len(failed)

    def wait_synced(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every connected Envoy acknowledged the secrets its agent serves
        now; whether they all did."""
        deadline = self._clock.monotonic() + timeout
        while True:
            with self._lock:
                agents = list(self._agents.values())
            if all(a.envoy_synced() for a in agents):
                return True
            if self._clock.monotonic() >= deadline:
                return False
            self._clock.sleep(0.05)

    def retarget(self, trust_domain: str) -> None:
        """Move every pod's identity to ``trust_domain`` (meshConfig changed) and re-issue."""
        with self._lock:
            agents = list(self._agents.values())
        for agent in agents:
            agent.identity = agent.identity.in_domain(trust_domain)
        self.renew_all()
