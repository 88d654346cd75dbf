"""Which images the samples stand in for, and the command lines their containers run, for the
container specs of Istio's sample YAML (samples/httpbin, curl, sleep, fortio, helloworld,
tcp-echo)."""

from __future__ import annotations

import pytest

from sailmesh.samples.images import container_argv, exec_argv, known, repository

PY = ("python3", "-m")


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        ("docker.io/mccutchen/go-httpbin:v2.15.0", "mccutchen/go-httpbin"),
        ("mccutchen/go-httpbin", "mccutchen/go-httpbin"),
        ("docker.io/kennethreitz/httpbin", "kennethreitz/httpbin"),
        ("registry.istio.io/release/examples-helloworld-v1:1.0", "release/examples-helloworld-v1"),
        ("localhost:5000/fortio/fortio:latest_release", "fortio/fortio"),
        ("fortio/fortio@sha256:" + "a" * 64, "fortio/fortio"),
        ("docker.io/library/httpbin:latest", "httpbin"),
    ],
)
def test_repository_drops_registry_tag_and_digest(reference: str, path: str) -> None:
    assert repository(reference) == path


@pytest.mark.parametrize(
    ("image", "command", "args", "argv"),
    [
        # samples/httpbin/httpbin.yaml (go-httpbin, no command), and with its flags
        ("docker.io/mccutchen/go-httpbin:v2.15.0", [], [], (*PY, "sailmesh.samples.httpbin", "go")),
        (
            "docker.io/mccutchen/go-httpbin:v2.6.0",
            ["go-httpbin"],
            ["-port", "8080", "-max-duration", "600s"],
            (*PY, "sailmesh.samples.httpbin", "go", "-port", "8080", "-max-duration", "600s"),
        ),
        # the older httpbin.yaml (kennethreitz: gunicorn on 80) and kong/httpbin's command
        (
            "docker.io/kennethreitz/httpbin",
            [],
            [],
            (
                *PY,
                "sailmesh.samples.httpbin",
                "python",
                "-b",
                "0.0.0.0:80",
                "httpbin:app",
                "-k",
                "gevent",
            ),
        ),
        (
            "docker.io/kong/httpbin",
            ["pipenv", "run", "gunicorn", "-b", "0.0.0.0:8080", "httpbin:app", "-k", "gevent"],
            [],
            (
                *PY,
                "sailmesh.samples.httpbin",
                "python",
                "-b",
                "0.0.0.0:8080",
                "httpbin:app",
                "-k",
                "gevent",
            ),
        ),
        # samples/httpbin/sample-client/fortio-deploy.yaml: the image's CMD
        (
            "fortio/fortio:latest_release",
            [],
            [],
            (*PY, "sailmesh.samples.fortio", "server", "-config-dir", "/etc/fortio"),
        ),
        (
            "fortio/fortio",
            [],
            ["load", "-c", "2", "http://x/"],
            (*PY, "sailmesh.samples.fortio", "load", "-c", "2", "http://x/"),
        ),
        # samples/curl/curl.yaml and samples/sleep/sleep.yaml: a host command
        ("curlimages/curl", ["/bin/sleep", "infinity"], [], ("/bin/sleep", "infinity")),
        ("curlimages/curl:8.7.1", [], ["-s", "http://x/"], ("curl", "-s", "http://x/")),
        ("curlimages/curl", [], ["sleep", "3600"], ("sleep", "3600")),
        # samples/helloworld/helloworld.yaml (both registries)
        (
            "registry.istio.io/release/examples-helloworld-v2:1.0",
            [],
            [],
            (
                *PY,
                "sailmesh.samples.helloworld",
                "v2",
                "-b",
                "[::]:5000",
                "app:app",
                "-k",
                "gevent",
            ),
        ),
        (
            "docker.io/istio/examples-helloworld-v1",
            [],
            ["gunicorn", "-b", "[0.0.0.0]:5000", "app:app", "-k", "gevent"],
            (
                *PY,
                "sailmesh.samples.helloworld",
                "v1",
                "-b",
                "[0.0.0.0]:5000",
                "app:app",
                "-k",
                "gevent",
            ),
        ),
        # samples/tcp-echo/tcp-echo.yaml and tcp-echo-services' several ports
        (
            "docker.io/istio/tcp-echo-server:1.1",
            [],
            ["9000", "hello"],
            (*PY, "sailmesh.samples.tcpecho", "9000", "hello"),
        ),
        (
            "docker.io/istio/tcp-echo-server:1.3",
            [],
            ["9000,9001,9002", "hello"],
            (*PY, "sailmesh.samples.tcpecho", "9000,9001,9002", "hello"),
        ),
        # a command that is not the image's own program runs as written; unknown images too
        ("fortio/fortio", ["sh", "-c", "echo hi"], [], ("sh", "-c", "echo hi")),
        ("nginx:1.27", ["nginx", "-g", "daemon off;"], [], ("nginx", "-g", "daemon off;")),
        (None, ["python3", "-m", "app"], ["--v"], ("python3", "-m", "app", "--v")),
    ],
)
def test_container_argv(
    image: str | None, command: list[str], args: list[str], argv: tuple[str, ...]
) -> None:
    assert container_argv(image, command, args) == argv


@pytest.mark.parametrize("image", ["nginx:1.27", "docker.io/bitnami/redis", "", None])
def test_no_command_and_no_stand_in(image: str | None) -> None:
    assert container_argv(image, [], ["x"]) is None
    assert known(image) is None


def test_exec_runs_the_image_programs_stand_ins() -> None:
    task = [
        "/usr/bin/fortio",
        "load",
        "-c",
        "3",
        "-qps",
        "0",
        "-n",
        "30",
        "http://httpbin:8000/get",
    ]
    assert exec_argv("fortio/fortio:latest_release", task) == (
        *PY,
        "sailmesh.samples.fortio",
        *task[1:],
    )
    assert exec_argv("fortio/fortio", ["fortio", "curl", "http://x/"])[3:] == ("curl", "http://x/")
    assert exec_argv("curlimages/curl", ["curl", "-s", "http://x/"]) == ("curl", "-s", "http://x/")
    assert exec_argv("fortio/fortio", ["ls", "/"]) == ("ls", "/")
    assert exec_argv(None, ["/usr/bin/fortio"]) == ("/usr/bin/fortio",)
