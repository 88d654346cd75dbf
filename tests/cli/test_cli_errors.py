"""sailctl ends on an error of sailmesh's tree with one line and the error's exit code."""

from __future__ import annotations

import sys

import click
import pytest

from sailmesh.cli import main as cli_main
from sailmesh.errors import (
    ApiError,
    ConfigError,
    SailmeshError,
    SandboxError,
    exit_code,
    one_line,
)
from sailmesh.runtime.sandbox.errors import CommandFailed, ModeUnavailable


@click.command()
def _fails() -> None:
    raise CommandFailed(["ip", "netns", "add", "x"], 1, "File exists\nmore detail\n")


def test_every_layer_error_is_a_sailmesh_error() -> None:
    from sailmesh.ads.server import AdsError
    from sailmesh.config.store import NotFoundError, StoreError
    from sailmesh.runtime.envoy import EnvoyError, EnvoyNotFoundError
    from sailmesh.runtime.supervisor import PodStartError, SupervisorError
    from sailmesh.snapshot.proxy import NodeIdError

    for cls in (AdsError, StoreError, NotFoundError, EnvoyError, EnvoyNotFoundError):
        assert issubclass(cls, SailmeshError)
    for cls in (PodStartError, SupervisorError, NodeIdError, ModeUnavailable, CommandFailed):
        assert issubclass(cls, SailmeshError)
    assert issubclass(StoreError, ConfigError) and issubclass(NodeIdError, ValueError)


def test_exit_codes_and_one_line_messages() -> None:
    assert exit_code(SandboxError("no netns")) == 69
    assert exit_code(ApiError(404, {"error": "pod 'x' not found"})) == 1
    assert exit_code(RuntimeError("bug")) == 1
    assert one_line(ApiError(404, {"error": "pod 'x' not found"})) == "pod 'x' not found"
    assert one_line(SailmeshError("first\nsecond")) == "first"
    assert one_line(SailmeshError()) == "SailmeshError"


def test_main_prints_one_line_and_exits_with_the_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli_main.VERBS, "fails", f"{__name__}:_fails")
    monkeypatch.setattr(sys, "argv", ["sailctl", "fails"])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    assert exited.value.code == 69
    err = capsys.readouterr().err
    assert err == "Error: ip netns add x exited 1: File exists\n"
