"""Bad input at every entry of a running control plane: malformed YAML, wrong kinds, oversized
and alias-bomb documents, bad namespaces, and clients that speak garbage to the API socket.

Each case asserts a clear error, that nothing was lost (the store is as it was), and that the
server keeps serving (a later valid request works).
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from e2e_support.controlplane import ControlPlaneThread
from sailmesh.app.api import MAX_BODY_BYTES, ApiClient
from sailmesh.config.enforcement import entries_for
from sailmesh.config.yamlsource import MAX_DOCUMENTS, MAX_TEXT_BYTES

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}}}
spec:
  hosts: [reviews]
  http: [{{route: [{{destination: {{host: reviews, subset: {subset}}}}}]}}]
"""


class Api:
    def __init__(self, cp: ControlPlaneThread) -> None:
        assert cp.api_socket is not None
        self.socket = cp.api_socket
        self.client = ApiClient(cp.api_socket, timeout=20)

    def apply(self, text: str, namespace: str = "default") -> tuple[int, dict[str, Any]]:
        return self.client.request("POST", "/v1/apply", {"yaml": text, "namespace": namespace})

    def state(self) -> tuple[int, list[dict[str, Any]]]:
        revision = self.client.request("GET", "/v1/version")[1]["revision"]
        return revision, self.client.request("GET", "/v1/config")[1]["items"]

    def raw(self, data: bytes, half_close: bool = True) -> bytes:
        """Send ``data`` on a fresh connection; the answer, read until the server closes."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket))
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("badinput")
    cp = ControlPlaneThread(work / "state", api_socket=work / "api.sock")
    cp.start()
    try:
        a = Api(cp)
        assert a.apply(VS.format(name="reviews", subset="v1"))[0] == 200
        yield a
    finally:
        cp.close()


@pytest.fixture
def unchanged(api: Api) -> Iterator[None]:
    """The store is the same after the test, and the server still applies valid config."""
    before = api.state()
    yield
    assert api.state() == before, "a rejected request changed the store"
    status, body = api.apply(VS.format(name="reviews", subset="v1"))
    assert status == 200 and body["outcomes"] == [
        "virtualservice/reviews unchanged (namespace default)"
    ], body


def one_line(body: dict[str, Any]) -> str:
    error = body["error"]
    assert isinstance(error, str) and error and "\n" not in error, body
    return error


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def json_error(answer: bytes) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head, head
    return one_line(json.loads(body))


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("kind: [unclosed\n", "YAML syntax error"),
        ("a: b\n\tc: d\n", "YAML syntax error"),
        ("- just\n- a list\n", "expected a mapping with apiVersion and kind"),
        ("apiVersion: v1\nkind: Nope\nmetadata: {name: x}\n", "unknown kind 'Nope'"),
        (
            "apiVersion: networking.istio.io/v9\nkind: VirtualService\nmetadata: {name: x}\n",
            "apiVersion: VirtualService is not served at apiVersion",
        ),
        (VS.format(name="Bad_Name", subset="v1"), "metadata.name: invalid name"),
        (VS.format(name="x", subset="v1") + "  hosts: [again]\n", "spec.hosts: duplicate key"),
        (
            VS.format(name="x", subset="v1").replace("{name: x}", "{name: x, namespace: Bad_NS}"),
            "metadata.namespace: invalid namespace 'Bad_NS'",
        ),
        (
            "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: ef}\n"
            "spec:\n  configPatches:\n  - applyTo: CLUSTER\n"
            "    patch: {operation: MERGE, value: &a {x: *a}}\n",
            "a YAML alias refers to a node that contains it",
        ),
    ],
    ids=[
        "syntax",
        "tab",
        "not-a-mapping",
        "unknown-kind",
        "unserved-version",
        "bad-name",
        "duplicate-key",
        "bad-namespace",
        "recursive-alias",
    ],
)
def test_invalid_yaml_is_422_with_a_located_problem(
    api: Api, unchanged: None, text: str, expect: str
) -> None:
    status, body = api.apply(text)
    assert status == 422, body
    assert "nothing was applied" in one_line(body)
    assert any(expect in p for p in body["problems"]), body["problems"]


def test_alias_bomb_is_refused_before_it_expands(api: Api, unchanged: None) -> None:
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: bomb}",
        "l0: &l0 [a,a,a,a,a,a,a,a,a,a]",
    ]
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    started = time.monotonic()
    status, body = api.apply("\n".join(lines) + "\n")
    elapsed = time.monotonic() - started
    print(f"\nalias bomb (10^9 values expanded) refused in {elapsed * 1000:.0f} ms")
    assert status == 422 and "once YAML aliases are expanded" in body["problems"][0], body
    assert elapsed < 5


def test_default_namespace_from_the_request_is_checked(api: Api, unchanged: None) -> None:
    status, body = api.apply(VS.format(name="x", subset="v1"), namespace="Not A Namespace")
    assert status == 422, body
    assert "(the default namespace of this apply: set it with -n)" in body["problems"][0]
    status, body = api.apply(VS.format(name="x", subset="v1"), namespace="")
    assert status == 422 and "the namespace is empty" in body["problems"][0], body


def test_unknown_namespace_is_applied_with_a_warning(api: Api) -> None:
    text = VS.format(name="typo", subset="v1")
    status, body = api.apply(text, namespace="reviwes")
    try:
        assert status == 200, body
        assert body["outcomes"] == ["virtualservice/typo created (namespace reviwes)"]
        (warning,) = body["warnings"]
        assert "namespace 'reviwes' has no Namespace object" in warning
    finally:
        api.client.request("POST", "/v1/delete", {"yaml": text, "namespace": "reviwes"})
    status, body = api.apply(text, namespace="istio-system")
    api.client.request("POST", "/v1/delete", {"yaml": text, "namespace": "istio-system"})
    assert status == 200 and body["warnings"] == [], body


def test_yaml_over_the_size_limit_is_refused(api: Api, unchanged: None) -> None:
    filler = "# " + "x" * 1000 + "\n"
    text = VS.format(name="big", subset="v1") + filler * (MAX_TEXT_BYTES // len(filler) + 1)
    status, body = api.apply(text)
    assert status == 422, body
    (problem,) = body["problems"]
    assert "the limit is 8 MiB per file or apply" in problem, problem
    print(f"\n{len(text)} bytes of YAML refused: {problem}")


def test_too_many_documents_are_refused(api: Api, unchanged: None) -> None:
    status, body = api.apply("---\na: 1\n" * (MAX_DOCUMENTS + 1))
    assert status == 422 and f"more than {MAX_DOCUMENTS} documents" in body["problems"][0], body


def test_body_over_the_limit_is_413_before_it_is_read(api: Api, unchanged: None) -> None:
    head = (
        b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(MAX_BODY_BYTES + 1).encode() + b"\r\n\r\n"
    )
    answer = api.raw(head + b'{"yaml": "', half_close=False)
    assert status_of(answer) == 413
    error = json_error(answer)
    assert "the limit is 16 MiB" in error, error
    print(f"\n413: {error}")


def test_a_whole_oversized_body_through_the_client_is_413(api: Api, unchanged: None) -> None:
    status, body = api.apply("#" * (MAX_BODY_BYTES + 10))
    assert status == 413 and "split the input" in one_line(body), body


REQUEST = b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"


@pytest.mark.parametrize(
    ("data", "status", "expect"),
    [
        (REQUEST % (14, b"this is not js"), 400, "the body is not JSON"),
        (REQUEST % (4, b"\xff\xfe\x00\x01"), 400, "the body is not JSON"),
        (REQUEST % (6, b"[1, 2]"), 400, "must be a JSON object"),
        (REQUEST % (11, b'{"yaml": 5}'), 400, "field 'yaml' must be a str"),
        (REQUEST % (18, b'{"namespace": [1]}'), 400, "field 'namespace' must be a str"),
        (REQUEST % (100, b'{"yaml": "a'), 400, "the body ended before Content-Length"),
        (
            b"POST /v1/apply HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}",
            400,
            "invalid Content-Length",
        ),
        (
            b"POST /v1/apply HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            411,
            "Content-Length",
        ),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "bad request"),
        (b"GET /v1/version HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "too long"),
        (
            b"GET /v1/version HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)),
            431,
            "Too many headers",
        ),
        (b"HELLO\r\n\r\n", 400, "bad request"),
        (b"GET /v1/version HTTP/9.9\r\n\r\n", 505, "bad request"),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "not-an-object",
        "yaml-not-a-string",
        "namespace-not-a-string",
        "truncated-body",
        "negative-length",
        "chunked",
        "huge-request-line",
        "huge-header",
        "many-headers",
        "garbage-line",
        "bad-version",
    ],
)
def test_garbage_on_the_socket_gets_a_json_error(
    api: Api, unchanged: None, data: bytes, status: int, expect: str
) -> None:
    answer = api.raw(data)
    assert status_of(answer) == status, answer[:300]
    assert expect in json_error(answer)


def test_random_bytes_never_break_the_server(api: Api, unchanged: None) -> None:
    rng = random.Random(20240607)
    answered = 0
    for size in [1, 2, 7, 64, 512, 4096, 65536, 200_000] * 4:
        answer = api.raw(rng.randbytes(size))
        answered += bool(answer)
        if answer:
            assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    print(f"\n32 random-byte requests: {answered} answered with a 4xx, the rest closed")


def test_a_stalled_client_does_not_block_others(api: Api, unchanged: None) -> None:
    with socket.socket(socket.AF_UNIX) as stalled:
        stalled.connect(str(api.socket))
        stalled.sendall(b"POST /v1/apply HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{")
        status, body = api.client.request("GET", "/v1/version")
        assert status == 200, body


PROXY_CONFIG = """\
apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata: {name: mesh-default}
spec: {}
"""


def test_unenforced_config_is_applied_with_one_warning_per_use(api: Api) -> None:
    status, body = api.apply(PROXY_CONFIG)
    try:
        assert status == 200, body
        assert body["outcomes"] == ["proxyconfig/mesh-default created (namespace default)"]
        assert body["warnings"] == [
            "Warning: [SM0001] ProxyConfig default/mesh-default spec: not enforced: "
            + entries_for("ProxyConfig")[0].reason
        ]
    finally:
        api.client.request("POST", "/v1/delete", {"yaml": PROXY_CONFIG, "namespace": "default"})
