"""The Sandbox strategies' pure parts: what each mode answers, the command lines and
environments of a pod's processes, and the ``sailctl exec`` command of each mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sailmesh.runtime.sandbox.capture import PROXY_GID
from sailmesh.runtime.sandbox.errors import SandboxError
from sailmesh.runtime.sandbox.explicit_mode import ExplicitSandbox
from sailmesh.runtime.sandbox.modes import Mode
from sailmesh.runtime.sandbox.netns import RunNames, Subnet
from sailmesh.runtime.sandbox.netns_mode import NetnsSandbox
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec
from sailmesh.runtime.sandbox.strategies import (
    LIMITS,
    STRATEGIES,
    sandbox_for,
    sandbox_for_run,
)
from sailmesh.runtime.sandbox.strategy import APP_PATH, ExecCommand
from sailmesh.runtime.sandbox.userns import UsernsNode
from sailmesh.runtime.sandbox.userns_mode import PROXY_MARK, UsernsSandbox

NAMES = RunNames("strat1")
SETPRIV_APP = ["setpriv", "--reuid=1000", "--regid=1001", "--clear-groups", "--"]
SETPRIV_PROXY = ["setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", "--"]


def pod(mode: Mode, node: UsernsNode | None = None, port: int = 16001) -> PodSandbox:
    spec = PodSpec("web", "shop", app_uid=1000, app_gid=1001, explicit_outbound_port=port)
    return PodSandbox(NAMES, spec, mode, node=node)


def started_node() -> UsernsNode:
    """A node whose agent is "running" as pid 4242 (nothing is started: argv only)."""
    node = UsernsNode(NAMES)
    node.pid = 4242
    return node


def test_each_mode_has_its_strategy() -> None:
    assert {mode: cls.mode for mode, cls in STRATEGIES.items()} == {m: m for m in Mode}
    assert isinstance(sandbox_for(Mode.NETNS, NAMES), NetnsSandbox)
    assert isinstance(sandbox_for(Mode.EXPLICIT, NAMES), ExplicitSandbox)
    userns = sandbox_for_run(Mode.USERNS, NAMES, Subnet("10.244.9.0/24"))
    assert isinstance(userns, UsernsSandbox) and isinstance(userns.node, UsernsNode)
    assert userns.subnet == Subnet("10.244.9.0/24")
    with pytest.raises(SandboxError, match="userns pod sandbox needs the run's UsernsNode"):
        sandbox_for(Mode.USERNS, NAMES)


def test_what_each_mode_answers() -> None:
    netns, explicit = NetnsSandbox(NAMES), ExplicitSandbox(NAMES)
    userns = UsernsSandbox(NAMES, node=started_node())
    assert [s.host_ports for s in (netns, userns, explicit)] == [False, False, True]
    assert [s.gateways_bind_loopback for s in (netns, userns, explicit)] == [False, False, True]
    assert [s.socket_mark for s in (netns, userns, explicit)] == [None, PROXY_MARK, None]
    assert PROXY_MARK == 1337
    assert netns.ads_socket_owner() == explicit.ads_socket_owner() == (0, PROXY_GID)
    assert userns.ads_socket_owner() == userns.owner() == (userns.node.uid, userns.node.gid)
    assert netns.owner() is None and explicit.owner() is None
    assert netns.node is None and explicit.node is None
    assert LIMITS[Mode.NETNS] == () and LIMITS[Mode.USERNS] == UsernsSandbox.limits
    assert any("$PORT" in limit for limit in LIMITS[Mode.EXPLICIT])
    # whom a pod's SDS socket admits: its Envoy's uid as the host sees it (explicit: nobody)
    assert netns.proxy_host_identity() == (1337, PROXY_GID)
    assert userns.proxy_host_identity() == userns.owner()
    assert explicit.proxy_host_identity() is None
    assert any("no workload identity" in limit for limit in LIMITS[Mode.EXPLICIT])


def test_netns_files_per_mode() -> None:
    assert pod(Mode.NETNS).netns_file == Path("/run/netns/sm-strat1-pod-web.shop")
    assert pod(Mode.EXPLICIT).netns_file is None
    userns = pod(Mode.USERNS, started_node())
    assert userns.netns_file == Path("/proc/4242/root/run/netns/sm-strat1-pod-web.shop")


def test_netns_command_enters_the_namespace_as_the_app_or_the_proxy() -> None:
    p = pod(Mode.NETNS)
    enter = ["ip", "netns", "exec", "sm-strat1-pod-web.shop"]
    assert p.command(["id"]) == [*enter, *SETPRIV_APP, "id"]
    assert p.command(["id"], as_proxy=True) == [*enter, *SETPRIV_PROXY, "id"]
    assert p.file_owner() == (1000, 1001) and p.file_owner(as_proxy=True) == (1337, 1337)


def test_userns_command_enters_through_the_agent_with_its_own_etc() -> None:
    p = pod(Mode.USERNS, started_node())
    argv = p.command(["id"], cwd=Path("/srv"))
    assert argv[argv.index("nsenter") : argv.index("nsenter") + 6] == [
        "nsenter",
        "--target=4242",
        "--user",
        "--mount",
        "--preserve-credentials",
        "--net=/proc/4242/root/run/netns/sm-strat1-pod-web.shop",
    ]
    etc = p.workdir / "etc"
    assert argv[-4:] == [str(etc / "hosts"), str(etc / "resolv.conf"), "/srv", "id"]
    assert p.command(["id"], as_proxy=True)[-2:] == [str(p.workdir), "id"]  # one uid for all
    node = p.node
    assert node is not None and p.file_owner(as_proxy=True) == (node.uid, node.gid)


def test_explicit_command_and_environment() -> None:
    p = pod(Mode.EXPLICIT)
    expected = [*SETPRIV_APP, "id"] if os.geteuid() == 0 else ["id"]
    assert p.command(["id"]) == expected
    env = p.environment({"A": "1"})
    assert env["HOME"] == str(p.workdir) and env["A"] == "1"
    assert env["http_proxy"] == env["HTTP_PROXY"] == "http://127.0.0.1:16001"
    assert env["no_proxy"] == "localhost,127.0.0.1,::1"
    assert "http_proxy" not in pod(Mode.EXPLICIT, port=0).environment()
    assert "http_proxy" not in pod(Mode.NETNS).environment()


def test_exec_command_per_mode() -> None:
    base = {
        "PATH": APP_PATH,
        "HOME": str(NAMES.workdir / "web.shop"),
        "POD_NAME": "web",
        "POD_NAMESPACE": "shop",
    }
    netns = pod(Mode.NETNS).exec_command(["ls", "-l"], "istio-proxy")
    enter = ["ip", "netns", "exec", "sm-strat1-pod-web.shop"]
    assert netns == ExecCommand(
        (*enter, *SETPRIV_PROXY, "ls", "-l"), base, NAMES.workdir / "web.shop"
    )
    assert pod(Mode.NETNS).exec_command(["ls"], "app").argv == (*enter, *SETPRIV_APP, "ls")

    explicit = pod(Mode.EXPLICIT).exec_command(["ls"], "")
    assert explicit.env == base | {
        "http_proxy": "http://127.0.0.1:16001",
        "HTTP_PROXY": "http://127.0.0.1:16001",
        "no_proxy": "localhost,127.0.0.1,::1",
        "NO_PROXY": "localhost,127.0.0.1,::1",
    }
    assert explicit.argv[-1] == "ls"

    userns = pod(Mode.USERNS, started_node())
    command = userns.exec_command(["ls"], "istio-proxy")
    assert list(command.argv) == [*userns.command([]), "ls"]
    assert command.env == base
    assert command.to_json() == {
        "argv": list(command.argv),
        "env": base,
        "cwd": str(NAMES.workdir / "web.shop"),
    }
