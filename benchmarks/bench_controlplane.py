"""Control plane push latency and memory with many connected proxies.

For (services, proxies) = (1000, 100), (1000, 1000), (1000, 2000): a real
:class:`~sailmesh.controlplane.server.ControlPlane` is started in a child process with N
Kubernetes Services (one WorkloadEntry endpoint each; every tenth service also has a
DestinationRule with subsets and a VirtualService). A second child process opens M simulated
Envoys: grpc.aio ADS streams (over several channels) that subscribe to CDS and LDS as
wildcards, to EDS and RDS by the names found in them, and ACK every response with its
version and nonce, like Envoy. Proxies are all in namespace ``default`` with eight label
sets (``app: svc-0`` .. ``svc-7``), so some are selected by services (inbound listeners).

Measured: the time until every proxy has ACKed the configuration it was given after connecting
(initial sync), and the time from ``apply`` of a one-service change to every proxy having ACKed
the versions the control plane computed for it (in brackets: when the push had computed every
proxy's snapshot, the 100 ms debounce included), for two changes:

- ``VirtualService``: a new VirtualService with a retry policy for one service. It changes the
  route config ``"8080"`` (one virtual host per service, ~500 KB for 1,000 services), which
  every proxy gets again as a whole, in SotW and in delta alike (Istio names route configs by
  port): 1.0 GB for 2,000 proxies;
- ``DestinationRule``: a connection pool added to the DestinationRule of one service. Only that
  service's clusters change; with delta xDS a proxy gets just those clusters and their
  endpoints (a few hundred bytes), with SotW every cluster again (320 KB) and those clusters'
  endpoints.

First with state-of-the-world clients, then (after they leave) as many delta
(``DeltaAggregatedResources``) clients: delta is the protocol Istio's sidecars use since 1.22
and sailmesh's too (``runtime.proxyconfig``), so the target applies to it. Times use
``CLOCK_MONOTONIC``, which is shared by the processes. ``BENCH_CP_MODES=delta`` (or ``sotw``)
runs one protocol only, ``BENCH_CP_CHANGES=dr2`` (names of ``cpbench.mesh.CHANGE_LABELS``) some changes only.
``BENCH_CP_PROFILE=<file>`` writes a cProfile of the control plane's
loop thread during the changes (from each apply until all ACKed),
``BENCH_CP_CLIENT_PROFILE=<file>`` one of the simulated clients' loop thread.

Memory is the control plane process's RSS (peak RSS in brackets); the simulated clients live
in the other process, so their memory and CPU are not counted. This machine has two cores for
both processes: the clients' CPU time during each change is printed (stderr) because past some
size they, not the control plane, set the pace. A simulated client therefore does no more work
than it must: a SotW client parses the resources of a version once (``cpbench.heads.Head``), a delta
client parses only the clusters and listeners it follows references in (``cpbench.heads.DeltaHead``)
and updates its subscriptions per changed resource, and their malloc keeps large buffers.

Every phase has a time limit, so a slow control plane is reported as a timeout.

The parts live in ``benchmarks/cpbench/`` (mesh, control plane child, simulated clients,
measurement); this file is the entry ``benchmarks/run.py`` loads, and what the child
processes run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# benchmarks/run.py loads this file by path: make its helper package importable.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from cpbench.measure import run_case  # noqa: E402
from cpbench.settings import CASES, Row  # noqa: E402


def run() -> list[Row]:
    wanted = os.environ.get("BENCH_CP_CASES")
    cases = CASES
    if wanted:
        cases = tuple((int(s), int(p)) for s, p in (c.split("x") for c in wanted.split(",") if c))
    rows: list[Row] = []
    for services, proxies in cases:
        rows.extend(run_case(services, proxies))
    return rows


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[1] == "--control-plane":
        from cpbench.control_plane import serve_control_plane

        serve_control_plane(int(argv[2]))
    elif len(argv) >= 4 and argv[1] == "--clients":
        from cpbench.clients import run_clients

        run_clients(int(argv[2]), int(argv[3]), argv[4] if len(argv) > 4 else "sotw")
    else:
        for row in run():
            print("  ".join(row))


if __name__ == "__main__":
    main(sys.argv)
