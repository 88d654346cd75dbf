"""Root rotation of a running local mesh (``sailctl ca rotate-root``), in the order that never
leaves a peer with a certificate it cannot verify:

1. the new CA's root joins the trust bundle (:meth:`~sailmesh.ca.authority.Authority.
   trust_root`); every pod is re-issued a certificate (still from the old CA) with the larger
   ``ROOTCA``, and the rotation waits (bounded) until every Envoy acknowledged it;
2. the CA signs with the new root from now on (:meth:`~sailmesh.ca.authority.Authority.
   switch_to`), keeping the old root in the bundle for ``overlap`` seconds; every pod is
   re-issued a certificate from the new root (its ``ROOTCA`` holds both), again waited for;
   a self-signed CA is persisted in ``$SAILMESH_HOME/ca`` here (a restart signs with the new
   root; a restart during the overlap restarts every pod too, so nobody needs the old root);
3. when the overlap ends, every pod is re-issued once more: ``ROOTCA`` holds the new root only.

The new CA is a new self-signed root, or a plug-in CA directory (``--cacerts``; required when
the mesh runs a plug-in CA, and then read in place, not persisted: start the mesh with the new
directory from then on). In: the :class:`~sailmesh.app.identity.MeshIdentity`. Out: a summary
for the API (subjects, serials, times; never a key).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sailmesh.app.identity import MeshIdentity, cert_summary, iso
from sailmesh.ca.authority import self_signed_root
from sailmesh.ca.storage import load_cacerts, save_cacerts
from sailmesh.errors import ApiError, CaError
from sailmesh.runtime.agent.pods import PodIdentities

log = logging.getLogger("sailmesh.app")

#: The default overlap: how long the old root stays trusted after the switch.
DEFAULT_OVERLAP = 3600.0
#: How long each step waits for the Envoys to acknowledge their new secrets.
SYNC_TIMEOUT = 10.0


def rotate_root(identity: MeshIdentity, overlap: float, cacerts: Path | None) -> dict[str, Any]:
    """Rotate the mesh's root (see the module docstring); a summary of what was done. Raises
    :class:`~sailmesh.errors.ApiError` for a request that cannot be done."""
    if overlap < 0:
        raise ApiError(400, {"error": f"overlap must not be negative (got {overlap:g}s)"})
    if identity.plugin_dir is not None and cacerts is None:
        raise ApiError(
            400,
            {
                "error": f"the mesh runs the plug-in CA of {identity.plugin_dir}: give the new "
                "CA's directory with --cacerts DIR"
            },
        )
    with identity.rotation_lock:
        authority, pods, clock = identity.authority, identity.pods, identity.clock
        try:
            new = (
                load_cacerts(cacerts)
                if cacerts is not None
                else self_signed_root(
                    authority.trust_domains.primary,
                    clock.wall(),
                    # a subject of its own: peers tell the two roots apart by name too
                    common_name=f"Root CA {iso(clock.wall())}",
                )
            )
        except CaError as exc:
            raise ApiError(422, {"error": f"the new CA cannot be used: {exc}"}) from None
        authority.trust_root(new)
        _, synced = _reissue(pods, "trust both roots")
        authority.switch_to(new, overlap)
        persisted = None
        if cacerts is None:
            save_cacerts(identity.ca_dir, new)
            persisted = str(identity.ca_dir)
        reissued, synced_new = _reissue(pods, "certificates from the new root")
        if pods is not None:
            pods.renew_all_after(overlap + 1.0)  # +1 s: the old root is out of the bundle then
        log.info("root rotated; the old root is trusted until %s", iso(clock.wall() + overlap))
        return {
            "newRoot": cert_summary(new.roots[0], "root"),
            "trustRoots": [cert_summary(r, "root") for r in authority.trust_roots()],
            "reissued": reissued,
            "synced": synced and synced_new,
            "oldRootTrustedUntil": iso(clock.wall() + overlap),
            "persistedIn": persisted,
        }


def _reissue(pods: PodIdentities | None, step: str) -> tuple[int, bool]:
    """Re-issue every pod's certificate and wait until the Envoys have it: how many were
    re-issued, and whether every Envoy acknowledged in time (a slow one is logged, the rotation
    goes on)."""
    if pods is None:
        return 0, True
    count = pods.renew_all()
    synced = pods.wait_synced(SYNC_TIMEOUT)
    if not synced:
        log.warning("root rotation (%s): not every Envoy acknowledged its secrets yet", step)
    return count, synced
