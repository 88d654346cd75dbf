"""The servers outside the mesh of the traffic-edges end-to-end tests: one Python program (run
as ``python3 -c EDGE_SERVERS`` in a pod without a sidecar) listening on

- 7001 and 7002: TCP answering ``A`` and ``B`` to the client's first bytes;
- 7003: a PROXY protocol server (v1 text or v2 binary header) answering
  ``proxy v<version> <source ip>:<port> <destination ip>:<port>`` from the header it got;
- 7004: an HTTP CONNECT proxy: it prints ``CONNECT <target>`` (flushed, so the pod's log shows
  it), connects to the target, answers ``200`` and relays bytes both ways;
- 8080: HTTP answering 200 ``ok``; 8081: HTTP answering 503 to everything and counting.
"""

from __future__ import annotations

EDGE_SERVERS = r"""
import http.server, socket, socketserver, struct, sys, threading

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True

def serve(port, handler):
    server = socketserver.ThreadingTCPServer(('0.0.0.0', port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

def answering(text):
    class Answer(socketserver.BaseRequestHandler):
        def handle(self):
            if self.request.recv(64):
                self.request.sendall(text)
    return Answer

def read_until(sock, buf, done):
    while not done(buf):
        more = sock.recv(4096)
        if not more:
            return None
        buf += more
    return buf

V2_SIGNATURE = b'\r\n\r\n\x00\r\nQUIT\n'

class Proxy(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        buf = read_until(s, b'', lambda b: len(b) >= 16)
        if buf is None:
            return
        if buf.startswith(V2_SIGNATURE):
            size = struct.unpack('!H', buf[14:16])[0]
            buf = read_until(s, buf, lambda b: len(b) >= 16 + size)
            src, dst = socket.inet_ntoa(buf[16:20]), socket.inet_ntoa(buf[20:24])
            sport, dport = struct.unpack('!HH', buf[24:28])
            text = 'proxy v2 %s:%d %s:%d' % (src, sport, dst, dport)
        else:
            buf = read_until(s, buf, lambda b: b'\r\n' in b)
            parts = buf.split(b'\r\n', 1)[0].decode().split(' ')
            text = 'proxy v1 %s:%s %s:%s' % (parts[2], parts[4], parts[3], parts[5])
        s.sendall(text.encode())

def relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

class Connect(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        buf = read_until(s, b'', lambda b: b'\r\n\r\n' in b)
        if buf is None:
            return
        head, rest = buf.split(b'\r\n\r\n', 1)
        method, target = head.split(b'\r\n')[0].decode().split(' ')[:2]
        print('%s %s' % (method, target), flush=True)
        if method != 'CONNECT':
            s.sendall(b'HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n')
            return
        host, port = target.rsplit(':', 1)
        upstream = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b'HTTP/1.1 200 OK\r\n\r\n')
        if rest:
            upstream.sendall(rest)
        back = threading.Thread(target=relay, args=(upstream, s), daemon=True)
        back.start()
        relay(s, upstream)
        back.join(10)
        upstream.close()

class Web(http.server.BaseHTTPRequestHandler):
    status = 200
    def do_GET(self):
        body = b'ok' if self.status == 200 else b'failing'
        self.send_response(self.status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

class Failing(Web):
    status = 503

serve(7001, answering(b'A'))
serve(7002, answering(b'B'))
serve(7003, Proxy)
serve(7004, Connect)
for port, handler in ((8080, Web), (8081, Failing)):
    web = http.server.ThreadingHTTPServer(('0.0.0.0', port), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
"""
