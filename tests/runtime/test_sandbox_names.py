"""Names of what the runtime makes per pod: unique per namespace and pod, valid, short, and
all under the run's prefix (so ``netns.cleanup`` finds them)."""

from __future__ import annotations

import re

import pytest

from sailmesh.runtime.sandbox.hosts import netns_etc_dir
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import RunNames
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec

NAMES = RunNames("names1")
VALID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def sandbox(name: str, namespace: str, mode: Mode = Mode.NETNS) -> PodSandbox:
    return PodSandbox(NAMES, PodSpec(name, namespace=namespace), mode)


@pytest.mark.parametrize("mode", [Mode.NETNS, Mode.EXPLICIT])
def test_the_same_pod_name_in_two_namespaces_gets_distinct_names(mode: Mode) -> None:
    a, b = sandbox("client-5d8f-0", "mesh", mode), sandbox("client-5d8f-0", "legacy", mode)
    assert a.ns != b.ns and a.workdir != b.workdir
    assert netns_etc_dir(a.ns) != netns_etc_dir(b.ns)
    assert (a.workdir / "logs") != (b.workdir / "logs")
    assert a.command(["id"]) != b.command(["id"]) or mode is Mode.EXPLICIT
    for pod in (a, b):
        assert pod.ns.startswith(NAMES.prefix) and pod.workdir.parent == NAMES.workdir


def test_pod_names_read_as_pod_dot_namespace() -> None:
    assert NAMES.pod_ns("web-1", "shop") == "sm-names1-pod-web-1.shop"
    assert sandbox("web-1", "shop").workdir == NAMES.workdir / "web-1.shop"


@pytest.mark.parametrize(
    ("name", "namespace"),
    [("a" * 200, "default"), ("web", "n" * 63), ("Web_1", "default"), ("web", "../etc")],
)
def test_long_or_odd_names_are_hashed_into_valid_short_file_names(
    name: str, namespace: str
) -> None:
    ns = NAMES.pod_ns(name, namespace)
    assert ns.startswith(NAMES.prefix) and len(ns) <= 64 and VALID.match(ns), ns
    assert "/" not in NAMES.pod_key(name, namespace)
    assert NAMES.pod_ns(name + "x", namespace) != ns
    assert NAMES.pod_ns(name, namespace + "x") != ns


def test_names_never_collide_across_the_separator() -> None:
    assert NAMES.pod_ns("a.b", "c") != NAMES.pod_ns("a", "b.c")
    assert NAMES.pod_key("node", "x") != "node"
