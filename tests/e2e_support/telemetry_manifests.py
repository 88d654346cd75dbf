"""Manifests of the telemetry end-to-end tests: a TCP echo service, an app serving its own
metrics and a client without a sidecar (added to bookinfo), a ratings abort, JSON access logs of failures only, and metric
overrides at namespace and workload level."""

from e2e_support.bookinfo import RATINGS_ABORT

__all__ = ["EXTRA", "JSON_ERRORS_ONLY", "METRIC_OVERRIDES", "RATINGS_ABORT", "TCP_ECHO"]

#: A TCP echo service on port 9000 (the workload ``tcp-echo-v1``).
TCP_ECHO = """
apiVersion: v1
kind: Service
metadata: {name: tcp-echo, labels: {app: tcp-echo}}
spec:
  ports: [{port: 9000, name: tcp}]
  selector: {app: tcp-echo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-echo-v1}
spec:
  selector: {matchLabels: {app: tcp-echo, version: v1}}
  template:
    metadata: {labels: {app: tcp-echo, version: v1}}
    spec:
      containers:
      - name: echo
        command:
        - python3
        - -c
        - |
          import socket, threading
          def serve(conn):
              with conn:
                  while data := conn.recv(65536):
                      conn.sendall(data)
          server = socket.create_server(("0.0.0.0", 9000))
          while True:
              threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
        ports: [{containerPort: 9000}]
"""

#: A TCP echo service (port 9000), ``bookstore``, which serves ``bookstore_orders_total 42``
#: on :8000/stats and says so with Prometheus annotations, and ``plain-client`` (no sidecar:
#: its calls reach the mesh in plaintext, which PERMISSIVE accepts).
EXTRA = (
    TCP_ECHO
    + """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bookstore-v1}
spec:
  selector: {matchLabels: {app: bookstore}}
  template:
    metadata:
      labels: {app: bookstore, version: v1}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8000"
        prometheus.io/path: /stats
    spec:
      containers:
      - name: bookstore
        command:
        - python3
        - -c
        - |
          import http.server
          BODY = b"# TYPE bookstore_orders_total counter\\nbookstore_orders_total 42\\n"
          class Handler(http.server.BaseHTTPRequestHandler):
              def do_GET(self):
                  self.send_response(200 if self.path == "/stats" else 404)
                  self.send_header("Content-Length", str(len(BODY)))
                  self.end_headers()
                  self.wfile.write(BODY)
          http.server.HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
        ports: [{containerPort: 8000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain-client}
spec:
  selector: {matchLabels: {app: plain-client}}
  template:
    metadata:
      labels: {app: plain-client, sidecar.istio.io/inject: "false"}
    spec:
      containers:
      - name: client
        command: [sleep, infinity]
"""
)

#: JSON access logs, only of responses >= 400, in namespace default.
JSON_ERRORS_ONLY = """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig: {accessLogEncoding: JSON}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: errors-only, namespace: default}
spec:
  accessLogging:
  - providers: [{name: envoy}]
    filter: {expression: "response.code >= 400"}
"""

#: Namespace: UPSERT ``team``, REMOVE ``request_protocol``, server-side durations off;
#: details' own object sets its ``team`` from a header, else ``details-team``.
METRIC_OVERRIDES = """
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: namespace-metrics, namespace: default}
spec:
  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        team: {value: "'bookinfo'"}
        request_protocol: {operation: REMOVE}
    - match: {metric: REQUEST_DURATION, mode: SERVER}
      disabled: true
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: details-metrics, namespace: default}
spec:
  selector: {matchLabels: {app: details}}
  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        team: {value: "request.headers['x-team'] | 'details-team'"}
"""
