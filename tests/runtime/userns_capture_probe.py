"""Run inside ``unshare --user --map-root-user --net`` (as an unprivileged user).

Reads the ``mark`` variant of the capture rules on stdin, applies them with
``iptables-nft-restore`` in the fresh namespace (lo + a veth with 10.244.0.2/24 and a default
route), starts listeners on 15001, 15006 and 9080, then reports as JSON on which port each
probe connection lands (or that it was not captured and went nowhere).
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading

POD_IP, VIP, MARK = "10.244.0.2", "10.96.0.10", 1337
SO_ORIGINAL_DST = 80


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True)


def serve(port: int) -> None:
    server = socket.create_server(("0.0.0.0", port))

    def loop() -> None:
        while True:
            conn, _ = server.accept()
            raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            orig_port, orig_ip = struct.unpack("!H4s", raw[2:8])
            orig = f"{socket.inet_ntoa(orig_ip)}:{orig_port}"
            conn.sendall(json.dumps({"port": port, "orig": orig}).encode())
            conn.close()

    threading.Thread(target=loop, daemon=True).start()


def probe(host: str, port: int, mark: bool = False, source: str | None = None) -> object:
    sock = socket.socket()
    sock.settimeout(0.3)
    if mark:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK)
    if source:
        sock.bind((source, 0))
    try:
        sock.connect((host, port))
        return json.loads(sock.recv(4096))
    except OSError as exc:
        return f"not captured: {type(exc).__name__}"
    finally:
        sock.close()


def main() -> None:
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
    sh("ip", "link", "set", "v1", "up")
    sh("ip", "link", "set", "v0", "up")
    sh("ip", "addr", "add", f"{POD_IP}/24", "dev", "v0")
    sh("ip", "route", "add", "default", "via", "10.244.0.1")
    subprocess.run(["iptables-nft-restore"], input=sys.stdin.read(), text=True, check=True)
    for port in (15001, 15006, 9080):
        serve(port)
    report = {
        "app_to_vip": probe(VIP, 9080),
        "proxy_to_vip": probe(VIP, 9080, mark=True),
        "proxy_to_own_pod_ip": probe(POD_IP, 9080, mark=True),
        "app_to_own_pod_ip": probe(POD_IP, 9080),
        "passthrough_127_0_0_6": probe("127.0.0.1", 9080, mark=True, source="127.0.0.6"),
        "app_to_localhost": probe("127.0.0.1", 9080),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
