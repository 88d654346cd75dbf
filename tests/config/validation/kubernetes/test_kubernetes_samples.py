"""Valid Kubernetes manifests load without errors: Istio's bookinfo/httpbin/curl samples, the
seed documents' manifests, and a Deployment using the commonly written pod-spec fields."""

from __future__ import annotations

import base64

import pytest

from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text

BOOKINFO = """
apiVersion: v1
kind: Service
metadata:
  name: details
  labels:
    app: details
    service: details
spec:
  ports:
  - port: 9080
    name: http
  selector:
    app: details
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-details
  labels:
    account: details
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: details-v1
  labels:
    app: details
    version: v1
spec:
  replicas: 1
  selector:
    matchLabels:
      app: details
      version: v1
  template:
    metadata:
      labels:
        app: details
        version: v1
    spec:
      serviceAccountName: bookinfo-details
      containers:
      - name: details
        image: docker.io/istio/examples-bookinfo-details-v1:1.20.2
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 9080
---
apiVersion: v1
kind: Service
metadata:
  name: reviews
  labels:
    app: reviews
    service: reviews
spec:
  ports:
  - port: 9080
    name: http
  selector:
    app: reviews
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-reviews
  labels:
    account: reviews
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v2
  labels:
    app: reviews
    version: v2
spec:
  replicas: 1
  selector:
    matchLabels:
      app: reviews
      version: v2
  template:
    metadata:
      labels:
        app: reviews
        version: v2
    spec:
      serviceAccountName: bookinfo-reviews
      containers:
      - name: reviews
        image: docker.io/istio/examples-bookinfo-reviews-v2:1.20.2
        imagePullPolicy: IfNotPresent
        env:
        - name: LOG_DIR
          value: "/tmp/logs"
        ports:
        - containerPort: 9080
        volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: wlp-output
          mountPath: /opt/ibm/wlp/output
        securityContext:
          runAsUser: 1000
      volumes:
      - name: wlp-output
        emptyDir: {}
      - name: tmp
        emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: productpage
  labels:
    app: productpage
    service: productpage
spec:
  ports:
  - port: 9080
    name: http
  selector:
    app: productpage
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-productpage
  labels:
    account: productpage
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: productpage-v1
  labels:
    app: productpage
    version: v1
spec:
  replicas: 1
  selector:
    matchLabels:
      app: productpage
      version: v1
  template:
    metadata:
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9080"
        prometheus.io/path: "/metrics"
      labels:
        app: productpage
        version: v1
    spec:
      serviceAccountName: bookinfo-productpage
      containers:
      - name: productpage
        image: docker.io/istio/examples-bookinfo-productpage-v1:1.20.2
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 9080
        volumeMounts:
        - name: tmp
          mountPath: /tmp
      volumes:
      - name: tmp
        emptyDir: {}
"""

HTTPBIN_AND_CURL = """
apiVersion: v1
kind: ServiceAccount
metadata:
  name: httpbin
---
apiVersion: v1
kind: Service
metadata:
  name: httpbin
  labels:
    app: httpbin
    service: httpbin
spec:
  ports:
  - name: http
    port: 8000
    targetPort: 8080
  selector:
    app: httpbin
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: httpbin
spec:
  replicas: 1
  selector:
    matchLabels:
      app: httpbin
      version: v1
  template:
    metadata:
      labels:
        app: httpbin
        version: v1
    spec:
      serviceAccountName: httpbin
      containers:
      - image: docker.io/mccutchen/go-httpbin:v2.15.0
        imagePullPolicy: IfNotPresent
        name: httpbin
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: curl
---
apiVersion: v1
kind: Service
metadata:
  name: curl
  labels:
    app: curl
    service: curl
spec:
  ports:
  - port: 80
    name: http
  selector:
    app: curl
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: curl
spec:
  replicas: 1
  selector:
    matchLabels:
      app: curl
  template:
    metadata:
      labels:
        app: curl
    spec:
      terminationGracePeriodSeconds: 0
      serviceAccountName: curl
      containers:
      - name: curl
        image: curlimages/curl
        command: ["/bin/sleep", "infinity"]
        imagePullPolicy: IfNotPresent
        volumeMounts:
        - mountPath: /etc/curl/tls
          name: secret-volume
      volumes:
      - name: secret-volume
        secret:
          secretName: curl-secret
          optional: true
"""

SEED_PRODUCTION = """
apiVersion: v1
kind: Namespace
metadata:
  name: production
  labels:
    istio-injection: enabled
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: payment-service
  namespace: production
spec:
  replicas: 3
  selector:
    matchLabels:
      app: payment-service
      version: v1
  template:
    metadata:
      labels:
        app: payment-service
        version: v1
    spec:
      containers:
      - name: payment-service
        image: payment-service:v1.2.3
        ports:
        - containerPort: 8080
        resources:
          requests:
            memory: "256Mi"
            cpu: "100m"
          limits:
            memory: "512Mi"
            cpu: "500m"
"""

SEED_CONFIGMAPS = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: datadog-config
  namespace: istio-system
data:
  config.yaml: |
    exporters:
      datadog:
        api:
          key: "${DD_API_KEY}"
          site: datadoghq.com
    service:
      pipelines:
        traces:
          receivers: [otlp]
          processors: [batch]
          exporters: [datadog]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio-proxy-config
  namespace: istio-system
data:
  ProxyConfig: |
    concurrency: 2  # Match container CPU cores
    proxyStatsMatcher:
      inclusionRegexps:
      - ".*outlier_detection.*"
"""

SEED_SPECIAL_SERVICE = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: special-service
  namespace: production
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/inject: "true"
        sidecar.istio.io/proxyCPU: "100m"
        sidecar.istio.io/proxyMemory: "128Mi"
        sidecar.istio.io/proxyImage: "istio/proxyv2:1.18.0"
        traffic.sidecar.istio.io/excludeOutboundPorts: "3306,5432"
      labels:
        app: special-service
        version: v1
    spec:
      containers:
      - name: special-service
        image: special-service:latest
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CERT = _b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
KEY = _b64("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")

TLS_AND_KITCHEN_SINK = f"""
apiVersion: v1
kind: Secret
metadata:
  name: httpbin-credential
  namespace: istio-system
type: kubernetes.io/tls
data:
  tls.crt: {CERT}
  tls.key: {KEY}
---
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  username: admin
  password: s3cret
immutable: true
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: bin
binaryData:
  logo.png: iVBORw0KGgo=
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: builder
automountServiceAccountToken: false
imagePullSecrets:
- name: registry
secrets:
- name: token
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - name: http-web
    port: 80
    targetPort: http
    nodePort: 30080
    appProtocol: http
  - name: grpc
    port: 9090
    protocol: TCP
  sessionAffinity: ClientIP
  externalTrafficPolicy: Local
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv4]
---
apiVersion: v1
kind: Service
metadata:
  name: db-headless
spec:
  clusterIP: None
  selector:
    app: db
---
apiVersion: v1
kind: Service
metadata:
  name: external-db
spec:
  type: ExternalName
  externalName: db.example.com
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    deployment.kubernetes.io/revision: "3"
spec:
  replicas: 2
  revisionHistoryLimit: 5
  minReadySeconds: 5
  progressDeadlineSeconds: 600
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      app: web
    matchExpressions:
    - key: tier
      operator: In
      values: [frontend]
    - key: legacy
      operator: DoesNotExist
  template:
    metadata:
      labels:
        app: web
        tier: frontend
    spec:
      serviceAccountName: builder
      automountServiceAccountToken: true
      terminationGracePeriodSeconds: 30
      nodeSelector:
        kubernetes.io/os: linux
      tolerations:
      - key: dedicated
        operator: Equal
        value: web
        effect: NoSchedule
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchLabels:
                  app: web
              topologyKey: kubernetes.io/hostname
      securityContext:
        runAsNonRoot: true
        fsGroup: 2000
      imagePullSecrets:
      - name: registry
      dnsPolicy: ClusterFirst
      hostAliases:
      - ip: 127.0.0.1
        hostnames: [local.test]
      initContainers:
      - name: init
        image: busybox
        command: ["sh", "-c", "echo init"]
      - name: log-shipper
        image: fluent-bit
        restartPolicy: Always
      containers:
      - name: web
        image: nginx:1.27
        command: ["python3", "-m", "http.server"]
        args: ["8080"]
        workingDir: /srv
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: GREETING
          value: hello
        envFrom:
        - configMapRef:
            name: bin
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}
          limits: {{cpu: "1", memory: 256Mi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: http}}
          periodSeconds: 5
        livenessProbe:
          tcpSocket: {{port: 8080}}
        startupProbe:
          exec: {{command: [cat, /tmp/ready]}}
        lifecycle:
          preStop:
            exec: {{command: [sleep, "5"]}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
        volumeMounts:
        - name: config
          mountPath: /etc/web
          readOnly: true
        imagePullPolicy: Always
        terminationMessagePolicy: FallbackToLogsOnError
      volumes:
      - name: config
        configMap:
          name: bin
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  labels:
    app: debug
spec:
  restartPolicy: Never
  serviceAccountName: builder
  containers:
  - name: shell
    image: busybox
    command: ["sleep", "3600"]
    stdin: true
    tty: true
"""

SAMPLES = {
    "bookinfo": (BOOKINFO, 9),
    "httpbin and curl": (HTTPBIN_AND_CURL, 6),
    "seed production namespace": (SEED_PRODUCTION, 2),
    "seed configmaps": (SEED_CONFIGMAPS, 2),
    "tls secret and kitchen sink": (TLS_AND_KITCHEN_SINK, 9),
}


@pytest.mark.parametrize(("text", "count"), list(SAMPLES.values()), ids=list(SAMPLES))
def test_valid_sample_loads(text: str, count: int) -> None:
    result = load_text(text)
    assert not [str(p) for p in result.problems if p.level is Level.ERROR]
    assert not [str(p) for p in result.problems if p.level is Level.WARNING]
    assert len(result.resources) == count


def test_seed_special_service_without_selector_is_rejected() -> None:
    result = load_text(SEED_SPECIAL_SERVICE)
    assert not result.resources
    errors = [p for p in result.problems if p.level is Level.ERROR]
    assert [p.path for p in errors] == ["spec.selector"]
    assert "app: my-app" in errors[0].message


def test_runtime_reads_workload_fields() -> None:
    by_name = {r.name: r for r in load_text(BOOKINFO).resources if r.kind == "Deployment"}
    reviews = by_name["reviews-v2"].spec
    pod = reviews.template.spec
    assert reviews.template.metadata.labels == {"app": "reviews", "version": "v2"}
    assert pod.service_account_name == "bookinfo-reviews"
    assert pod.containers[0].env[0].name == "LOG_DIR"
    assert pod.containers[0].ports[0].container_port == 9080
    page = by_name["productpage-v1"].spec.template.metadata
    assert page.annotations["prometheus.io/port"] == "9080"
