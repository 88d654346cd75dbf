"""The one place a sandbox mode becomes a :class:`~.strategy.Sandbox` strategy.

In: a :class:`~.modes.Mode` (or a ``--mode`` value to detect one from). Out: the strategy of
that mode (:func:`sandbox_for`, :func:`sandbox_for_run`), the mode the runtime can run here
(:func:`runtime_mode`: the kernel probe of :mod:`.modes` plus each strategy's own
requirements), and every mode's limits (:data:`LIMITS`).
"""

from __future__ import annotations

from sailmesh.runtime.sandbox.errors import ModeUnavailable
from sailmesh.runtime.sandbox.explicit_mode import ExplicitSandbox
from sailmesh.runtime.sandbox.modes import REASONS, Mode, ModeReport, detect_mode
from sailmesh.runtime.sandbox.netns import RunNames, Subnet
from sailmesh.runtime.sandbox.netns_mode import NetnsSandbox
from sailmesh.runtime.sandbox.strategy import Sandbox
from sailmesh.runtime.sandbox.userns import UsernsNode
from sailmesh.runtime.sandbox.userns_mode import UsernsSandbox

STRATEGIES: dict[Mode, type[Sandbox]] = {
    Mode.NETNS: NetnsSandbox,
    Mode.USERNS: UsernsSandbox,
    Mode.EXPLICIT: ExplicitSandbox,
}
LIMITS: dict[Mode, tuple[str, ...]] = {mode: cls.limits for mode, cls in STRATEGIES.items()}
#: The mode automatic detection falls back to when a detected mode cannot run.
FALLBACK = Mode.EXPLICIT


def sandbox_for(
    mode: Mode, names: RunNames, subnet: Subnet | None = None, node: UsernsNode | None = None
) -> Sandbox:
    """The strategy of ``mode`` with the run's parts (userns needs its ``node``)."""
    return STRATEGIES[mode](names, subnet, node)


def sandbox_for_run(mode: Mode, names: RunNames, subnet: Subnet | None = None) -> Sandbox:
    """The strategy of a new run of ``mode``, making the run-wide parts it needs."""
    return STRATEGIES[mode].for_run(names, subnet)


def runtime_mode(override: str | None = None) -> ModeReport:
    """:func:`detect_mode`, plus the runtime's own requirements of the mode (userns: the
    commands it drives the agent with). A requested mode that cannot run is refused with the
    reason; a detected one falls back to explicit, saying why."""
    report = detect_mode(override)
    why = STRATEGIES[report.mode].runtime_requirements()
    if why is None:
        return report
    if override is not None and override.strip().lower() != "auto":
        raise ModeUnavailable(f"sandbox mode {report.mode.value} is not available: {why}")
    unavailable = {**report.unavailable, report.mode: why}
    return ModeReport(FALLBACK, REASONS[FALLBACK], unavailable)
