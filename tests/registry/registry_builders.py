"""Config objects for the registry tests: Kubernetes Services, ServiceEntries, WorkloadEntries."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource


def resources(text: str) -> list[Resource]:
    loaded = load_text(text)
    assert loaded.ok, loaded.problems
    return loaded.resources


def one(text: str) -> Resource:
    (found,) = resources(text)
    return found


REVIEWS_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default, labels: {app: reviews}}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080, targetPort: 8080}
  - {name: grpc-api, port: 9090, appProtocol: http2}
  - {name: metrics, port: 15020, targetPort: metrics}
  - {name: dns, port: 53, protocol: UDP}
"""

EXTERNAL_ENTRY = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: default, labels: {team: a}}
spec:
  hosts: [api.example.com, www.example.com]
  addresses: [240.0.0.1/32]
  location: MESH_EXTERNAL
  resolution: DNS
  exportTo: ["."]
  ports:
  - {number: 443, name: https, protocol: TLS}
  - {number: 80, name: web, protocol: HTTP}
"""

INLINE_ENTRY = manifests("""
ServiceEntry data/db
  hosts: [db.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp-pg, protocol: TCP, targetPort: 15432}]
  endpoints:
  - {address: 10.1.0.1, labels: {role: primary}, locality: us/east, weight: 3}
  - {address: 10.1.0.2, ports: {tcp-pg: 25432}, serviceAccount: db}
""")

SELECTING_ENTRY = manifests("""
ServiceEntry default/vm
  hosts: [vm.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: {labels: {app: vm}}
  ports: [{number: 8080, name: http, protocol: HTTP}]
""")

VM_ENTRY = manifests("""
WorkloadEntry default/vm-1
  address: 10.2.0.1
  labels: {app: vm}
  serviceAccount: vm-sa
  ports: {http: 18080}
  locality: eu/west/a
  weight: 5
  network: net-2
""")
