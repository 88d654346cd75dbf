"""Helpers of ``bench_controlplane.py``: the generated mesh (:mod:`.mesh`), the control plane
child process (:mod:`.control_plane`), the simulated Envoys (:mod:`.heads`, :mod:`.envoys`,
:mod:`.clients`) and the parent's measurements and table rows (:mod:`.measure`)."""
