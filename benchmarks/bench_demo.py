"""Cold `sailctl demo` until http://127.0.0.1:<gateway>/productpage answers 200 (target < 10 s),
and the memory of the whole demo mesh (control plane + every pod process)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# benchmarks/run.py loads this file by path: make its sibling modules importable.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from procstat import descendants, pss_kib, rss_kib  # noqa: E402

TARGET_S = 10.0


def _wait_200(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def run() -> list[tuple[str, str, str, str]]:
    if os.geteuid() != 0:
        return [
            (
                "sailctl demo",
                "cold start",
                "skipped: needs root (netns mode)",
                f"< {TARGET_S:.0f} s",
            )
        ]
    sailctl = str(Path(sys.executable).parent / "sailctl")
    with tempfile.TemporaryDirectory(prefix="sailmesh-bench-home-") as home:
        env = {**os.environ, "SAILMESH_HOME": home}
        log = Path(home) / "demo.log"
        start = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sailctl, "demo"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            port = None
            deadline = start + 60
            while port is None and time.monotonic() < deadline and proc.poll() is None:
                for line in log.read_text(errors="replace").splitlines():
                    if "port 8080 -> http://127.0.0.1:" in line:
                        port = int(line.rsplit(":", 1)[1].strip("/"))
                time.sleep(0.02)
            ok = port is not None and _wait_200(f"http://127.0.0.1:{port}/productpage", deadline)
            elapsed = time.monotonic() - start
            time.sleep(1.0)
            pids = descendants(proc.pid)
            pss = sum(pss_kib(p) for p in pids) / 1024
            rss = sum(rss_kib(p) for p in pids) / 1024
        finally:
            subprocess.run([sailctl, "down"], env=env, capture_output=True, timeout=60, check=False)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = f"{elapsed:.2f} s" if ok else f"failed after {elapsed:.1f} s (see log)"
    return [
        ("sailctl demo", "cold start to productpage 200", result, f"< {TARGET_S:.0f} s"),
        ("sailctl demo", f"memory, {len(pids)} processes (PSS)", f"{pss:.0f} MiB", "report"),
        ("sailctl demo", "memory, sum of RSS", f"{rss:.0f} MiB", "report"),
    ]
