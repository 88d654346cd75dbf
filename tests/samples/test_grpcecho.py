"""The gRPC streaming echo sample and its client, on 127.0.0.1."""

from __future__ import annotations

import pytest
from sample_procs import free_port, procs_in


def test_a_stream_of_n_messages_comes_back_n_times(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("grpcecho")):
        port = free_port()
        procs.start("grpcecho", "serve", "--port", str(port), "--host", "127.0.0.1").wait_port(port)
        done = procs.run("grpcecho", "stream", "--target", f"127.0.0.1:{port}", "--count", "6")
        assert (done.returncode, done.stdout.split()) == (0, ["6", "6", "OK"]), done.stderr


def test_the_client_reports_the_status_it_saw(tmp_path_factory: pytest.TempPathFactory) -> None:
    for procs in procs_in(tmp_path_factory.mktemp("grpcecho-down")):
        port = free_port()  # nobody listens
        args = ["stream", "--target", f"127.0.0.1:{port}", "--count", "2", "--timeout", "2"]
        done = procs.run("grpcecho", *args)
        assert (done.returncode, done.stdout.split()) == (1, ["2", "0", "UNAVAILABLE"])
