"""SDS secrets in Istio's names: ``default`` (a workload's certificate chain and private key)
and ``ROOTCA`` (the trust bundle), and the ``SdsSecretConfig`` that points a TLS context at
them through the bootstrap's static ``sds-grpc`` cluster (the pod's node agent).

Pure functions over PEM bytes: this module knows Envoy's messages, not how certificates are
made (:mod:`sailmesh.ca`) nor who serves them (the runtime's node agent, handed
:func:`render_workload_secrets` by :mod:`sailmesh.app`). The private key is carried inline in
the ``default`` secret, which only the pod's own agent serves to the pod's own Envoy; Envoy's
``/config_dump`` shows it as ``[redacted]``.
"""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2, config_source_pb2, grpc_service_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2

from sailmesh.typeurls import SECRET
from sailmesh.xds.bootstrap import DEFAULT_SECRET, ROOT_SECRET, SDS_CLUSTER

__all__ = [
    "DEFAULT_SECRET",
    "ROOT_SECRET",
    "certificate_secret",
    "render_workload_secrets",
    "sds_reference",
    "trust_secret",
]


def certificate_secret(
    chain_pem: bytes, key_pem: bytes, name: str = DEFAULT_SECRET
) -> secret_pb2.Secret:
    """The workload's certificate chain (leaf first) and private key, inline."""
    return secret_pb2.Secret(
        name=name,
        tls_certificate=common_pb2.TlsCertificate(
            certificate_chain=base_pb2.DataSource(inline_bytes=chain_pem),
            private_key=base_pb2.DataSource(inline_bytes=key_pem),
        ),
    )


def trust_secret(roots_pem: bytes, name: str = ROOT_SECRET) -> secret_pb2.Secret:
    """The roots a peer's certificate must chain to."""
    return secret_pb2.Secret(
        name=name,
        validation_context=common_pb2.CertificateValidationContext(
            trusted_ca=base_pb2.DataSource(inline_bytes=roots_pem)
        ),
    )


def render_workload_secrets(
    chain_pem: bytes, key_pem: bytes, roots_pem: bytes
) -> dict[str, dict[str, secret_pb2.Secret]]:
    """``{SECRET: {"default": ..., "ROOTCA": ...}}``, the node agent's whole SDS snapshot."""
    return {
        SECRET: {
            DEFAULT_SECRET: certificate_secret(chain_pem, key_pem),
            ROOT_SECRET: trust_secret(roots_pem),
        }
    }


def sds_reference(name: str) -> secret_pb2.SdsSecretConfig:
    """A TLS context's reference to secret ``name`` served over SDS by the ``sds-grpc``
    cluster (state of the world, as Istio's sidecars ask for it)."""
    source = config_source_pb2.ApiConfigSource(
        api_type=config_source_pb2.ApiConfigSource.GRPC,
        transport_api_version=config_source_pb2.V3,
        set_node_on_first_message_only=True,
        grpc_services=[
            grpc_service_pb2.GrpcService(
                envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=SDS_CLUSTER)
            )
        ],
    )
    return secret_pb2.SdsSecretConfig(
        name=name,
        sds_config=config_source_pb2.ConfigSource(
            api_config_source=source, resource_api_version=config_source_pb2.V3
        ),
    )
