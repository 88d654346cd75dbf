"""The per-pod agent: a private key made here, a CSR, the CA's signature, SDS to the pod's Envoy.

The key is generated in this process's memory for each certificate (a renewal makes a new key),
never written to disk, never logged, and handed only to the secret renderer whose output the
agent serves on the pod's gated socket (:mod:`~sailmesh.runtime.agent.gate`). The CA is reached
through ``signer(csr_pem, identity)``: ``identity`` is what the runtime vouches for (it started
the pod from a plan naming its namespace and service account), not anything the CSR or Envoy
claims, so a compromised Envoy can at most obtain certificates for its own pod's identity.

Renewal happens at a random point between 50 % and 80 % of the certificate's lifetime
(:func:`sailmesh.ca.rotation.renewal_delay`); the new ``default`` and ``ROOTCA`` secrets are
pushed on the open SDS stream, and Envoy swaps them in for new connections without a restart
(connections already open keep the certificate they were made with). A failed renewal is
retried after a short backoff while the old certificate is still valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sailmesh.ads.cache import SharedSnapshotCache
from sailmesh.ads.resources import ResourceSnapshot
from sailmesh.ads.server import AdsServer
from sailmesh.ads.status import SyncState
from sailmesh.ca.certs import Validity
from sailmesh.ca.csr import make_csr
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.keys import generate_key, private_pem
from sailmesh.ca.rotation import Random, renewal_delay
from sailmesh.ca.signing import IssuedChain
from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.errors import SailmeshError
from sailmesh.runtime.agent.gate import Check, PeerGate
from sailmesh.typeurls import SECRET

log = logging.getLogger(__name__)

Signer = Callable[[bytes, SpiffeId], IssuedChain]
"""Signs a CSR for the identity the runtime vouches for (the composition root binds the CA)."""

SecretRenderer = Callable[[bytes, bytes, bytes], Mapping[str, Mapping[str, Any]]]
"""``(chain_pem, key_pem, roots_pem) -> {type_url: {name: Secret}}`` (``default``, ``ROOTCA``)."""

#: Wait before retrying a failed renewal (capped by the time the certificate has left).
RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class CertificateInfo:
    """What may be shown about the served certificate (never the key)."""

    identity: str
    serial_hex: str
    validity: Validity


class WorkloadAgent:
    """Serves one pod's Envoy its identity over SDS on ``socket_path``."""

    def __init__(
        self,
        identity: SpiffeId,
        *,
        signer: Signer,
        renderer: SecretRenderer,
        socket_path: Path,
        peer_check: Check,
        clock: Clock = SYSTEM_CLOCK,
        random: Random = random_module.random,
        socket_mode: int = 0o600,
        socket_group: int | None = None,
        private_parent: Path | None = None,
    ) -> None:
        """``private_parent``: where the agent makes its private (0700) directory for the gRPC
        server's socket (default: the system's temporary directory)."""
        self.identity = identity
        self._signer = signer
        self._renderer = renderer
        self._clock = clock
        self._random = random
        self._cache = SharedSnapshotCache()
        self._server = AdsServer(self._cache, clock=clock)
        # 0700, ours only
        self._private = Path(tempfile.mkdtemp(prefix="sailmesh-sds-", dir=private_parent))
        self._gate = PeerGate(
            socket_path,
            self._private / "grpc.sock",
            peer_check,
            mode=socket_mode,
            group=socket_group,
        )
        self._renewer: asyncio.Task[None] | None = None
        self.current: CertificateInfo | None = None
        self.issued = 0

    @property
    def socket_path(self) -> Path:
        return self._gate.path

    @property
    def refused(self) -> int:
        """Connections the gate refused."""
        return self._gate.refused

    def sds_state(self) -> str:
        """The Envoy's SDS state in ``proxy-status`` words: ``SYNCED`` (every open stream has
        the secrets served now), ``NACKED``, ``STALE``, or ``NOT SENT`` (no stream open)."""
        states = {s.state(SECRET) for s in self._server.proxy_status()}
        if not states:
            return str(SyncState.NOT_SENT)
        for state in (SyncState.NACKED, SyncState.STALE, SyncState.NOT_SENT):
            if state in states:
                return str(state)
        return str(SyncState.SYNCED)

    def envoy_synced(self) -> bool:
        """Whether every SDS stream open on the socket has acknowledged the secrets served now
        (True when none is open: an Envoy that connects later gets them first)."""
        return all(s.state(SECRET) is SyncState.SYNCED for s in self._server.proxy_status())

    async def start(self) -> None:
        """Get a first certificate, then serve it (the socket exists once this returns)."""
        await self.renew_now()
        await self._server.start(None, unix_path=str(self._gate.upstream))
        await self._gate.start()
        self._renewer = asyncio.create_task(self._renew_forever(), name=f"sds-{self.identity}")

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        await self._gate.stop()
        await self._server.stop(grace=0.2)
        shutil.rmtree(self._private, ignore_errors=True)

    async def renew_now(self) -> CertificateInfo:
        """A new key and certificate, served from now on (also after a root rotation's first
        step, to pick up the larger trust bundle)."""
        issued, key_pem = await asyncio.to_thread(self._issue)
        self._cache.set_shared(
            ResourceSnapshot.build(self._renderer(issued.chain_pem, key_pem, issued.roots_pem))
        )
        del key_pem
        self.current = CertificateInfo(self.identity.uri, issued.serial_hex, issued.validity)
        self.issued += 1
        log.info(
            "SDS %s: serving certificate %s valid until %.0f",
            self.identity,
            issued.serial_hex,
            issued.validity.not_after,
        )
        return self.current

    def _issue(self) -> tuple[IssuedChain, bytes]:
        key = generate_key()
        issued = self._signer(make_csr(key, self.identity), self.identity)
        return issued, private_pem(key)

    async def _renew_forever(self) -> None:
        while True:
            assert self.current is not None
            validity = self.current.validity
            await self._clock.asleep(renewal_delay(validity, self._clock.wall(), self._random))
            try:
                await self.renew_now()
            except SailmeshError as exc:
                left = validity.not_after - self._clock.wall()
                log.warning("SDS %s: renewal failed (%s); %.0fs left", self.identity, exc, left)
                await self._clock.asleep(max(0.1, min(RETRY_SECONDS, left / 10)))
