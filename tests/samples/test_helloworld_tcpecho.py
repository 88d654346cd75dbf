"""helloworld and tcp-echo stand-ins, run with their images' default arguments."""

from __future__ import annotations

import socket

import pytest
from sample_procs import free_port, procs_in, request


def test_helloworld_says_its_version_and_instance(tmp_path_factory: pytest.TempPathFactory) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("helloworld")):
        port = free_port()
        bind = ["-b", f"[::]:{port}", "app:app", "-k", "gevent"]  # the image's CMD, another port
        procs.start("helloworld", "v2", *bind).wait_port(port)
        status, _, body = request(port, "/hello")
        assert (status, body) == (200, b"Hello version: v2, instance: sample-pod-1\n")
        assert request(port, "/health")[2] == b"Helloworld is healthy"
        assert request(port, "/")[0] == 404


def test_tcp_echo_prefixes_each_line(tmp_path_factory: pytest.TempPathFactory) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("tcpecho")):
        one, two = free_port(), free_port()
        proc = procs.start("tcpecho", f"{one},{two}", "hello")
        for port in (one, two):
            proc.wait_port(port)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(b"world\nagain\n")
                data = b""
                while data.count(b"\n") < 2:
                    data += conn.recv(100)
                assert data == b"hello world\nhello again\n"
        procs.stop_all()
        assert "request: world" in proc.log() and "response: hello world" in proc.log()
