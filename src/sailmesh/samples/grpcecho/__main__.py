"""``python -m sailmesh.samples.grpcecho serve|stream ...`` (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from concurrent import futures

import grpc

SERVICE = "sailmesh.echo.Echo"
METHOD = f"/{SERVICE}/Stream"


def _echo(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    yield from requests


def serve(port: int, host: str = "0.0.0.0") -> int:
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Stream": grpc.stream_stream_rpc_method_handler(_echo)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    server.wait_for_termination()
    return 0


def stream(target: str, count: int, timeout: float) -> int:
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream(METHOD)
        messages = (f"message {i}".encode() for i in range(count))
        try:
            received = sum(1 for _ in call(messages, timeout=timeout))
        except grpc.RpcError as exc:
            print(f"{count} 0 {exc.code().name}")  # the status the client saw
            return 1
    print(f"{count} {received} OK")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sailmesh.samples.grpcecho")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("serve")
    server.add_argument("--port", type=int, default=7070)
    server.add_argument("--host", default="0.0.0.0")
    client = sub.add_parser("stream")
    client.add_argument("--target", required=True)
    client.add_argument("--count", type=int, default=10)
    client.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.port, args.host)
    return stream(args.target, args.count, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
