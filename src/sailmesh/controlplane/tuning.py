"""Process settings for a control plane that serves many proxies (garbage collector, malloc).

Both are process-wide, so they are applied once, by :meth:`ControlPlane.start`, in the process
the control plane serves from. Measured with 2,000 connected proxies (``benchmarks``):

- the garbage collector: each connected proxy keeps ~100 tracked objects (gRPC call state,
  tasks, stream state) and a push to all of them makes as many short-lived ones (responses,
  futures), which the default first threshold (700) promoted to the old generations, so full
  scans of every proxy's objects ran in the middle of pushes (0.2-0.3 s each). Objects loaded
  by then (modules, the initial config) are frozen out of the scans, and a larger young
  generation lets a push's garbage die young.
- glibc malloc: every response to a proxy is copied into gRPC's buffers; responses over 128 KB
  (a route table of 1,000 services is 600 KB) were each mapped and unmapped afresh, paying
  for page faults on every copy (a second per push of one route table to 2,000 proxies).
  Raising the mmap and trim thresholds keeps such buffers in the heap for reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger("sailmesh.controlplane")

#: Garbage collector thresholds while a control plane serves.
GC_THRESHOLDS = (100_000, 20, 20)

#: glibc ``mallopt`` parameters (malloc.h) and the values set.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 1024 * 1024
TRIM_THRESHOLD = 32 * 1024 * 1024

_tuned = False


def tune_for_serving() -> None:
    """Freeze what is loaded by now out of the collector's scans (a stored object replaced
    later is freed by reference counting; stored objects hold no reference cycles), and set
    the thresholds (once per process)."""
    global _tuned
    gc.collect()
    gc.freeze()
    if not _tuned:
        _tuned = True
        gc.set_threshold(*GC_THRESHOLDS)
        tune_malloc()


def tune_malloc() -> None:
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    if not ok:
        log.debug("mallopt refused the thresholds; malloc keeps its defaults")
