"""`sailctl validate` and `sailctl analyze` over a directory of 1,000 objects (target: < 2 s each)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

OBJECTS = 1000
TARGET_S = 2.0


def write_corpus(root: Path, objects: int = OBJECTS) -> None:
    """A mesh of services with Service, Deployment, DestinationRule and VirtualService each."""
    per_service = 4
    for i in range(objects // per_service):
        name = f"svc-{i}"
        (root / f"{name}.yaml").write_text(f"""\
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: bench}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}-v1, namespace: bench}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}, version: v1}}}}
  template:
    metadata: {{labels: {{app: {name}, version: v1}}}}
    spec:
      containers: [{{name: app, image: example, ports: [{{containerPort: 8080}}]}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: bench}}
spec:
  host: {name}
  trafficPolicy: {{connectionPool: {{http: {{http1MaxPendingRequests: 10}}}}}}
  subsets: [{{name: v1, labels: {{version: v1}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: bench}}
spec:
  hosts: [{name}]
  http:
  - match: [{{headers: {{end-user: {{exact: jason}}}}}}]
    timeout: 2s
    retries: {{attempts: 3, perTryTimeout: 500ms}}
    route: [{{destination: {{host: {name}, subset: v1}}}}]
  - route: [{{destination: {{host: {name}, subset: v1}}, weight: 100}}]
""")


def _time(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode


def run() -> list[tuple[str, str, str, str]]:
    sailctl = str(Path(sys.executable).parent / "sailctl")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sailmesh-bench-") as tmp:
        write_corpus(Path(tmp))
        for verb in ("validate", "analyze"):
            best = min(_time([sailctl, verb, "-f", tmp])[0] for _ in range(3))
            code = _time([sailctl, verb, "-f", tmp])[1]
            rows.append(
                (
                    f"sailctl {verb}",
                    f"{OBJECTS} objects (exit {code})",
                    f"{best:.2f} s",
                    f"< {TARGET_S:.0f} s",
                )
            )
    return rows
