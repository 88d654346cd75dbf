"""``python -m sailmesh.samples.tcpecho <port[,port...]> <prefix>``."""

from __future__ import annotations

import signal
import socket
import sys
import threading

from ..web import log


def handle(conn: socket.socket, prefix: str) -> None:
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            if not line.endswith(b"\n"):
                return  # like the image: a last line without a newline is not answered
            text = line.decode("utf-8", "replace")
            log(f"request: {text}".rstrip("\n"))
            answer = f"{prefix} {text}"
            log(f"response: {answer}".rstrip("\n"))
            conn.sendall(answer.encode())


def accept(server: socket.socket, prefix: str) -> None:
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn, prefix), daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv) or ["9000", "hello"]
    if len(args) < 2:
        print("usage: tcp-echo <port[,port...]> <prefix>", file=sys.stderr)
        return 1
    ports = [int(p) for p in args[0].split(",") if p]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for port in ports:
        try:
            server = socket.create_server(("0.0.0.0", port))
        except OSError as exc:
            print(f"failed to create listener, err: {exc}", file=sys.stderr)
            return 1
        log(f"listening on [::]:{port}, prefix: {args[1]}")
        threading.Thread(target=accept, args=(server, args[1]), daemon=True).start()
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
