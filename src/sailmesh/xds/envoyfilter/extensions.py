"""EXTENSION_CONFIG patches: extension configurations filters discover by name.

Istio serves an EXTENSION_CONFIG ``ADD`` (a ``TypedExtensionConfig``) over ECDS to filters
whose ``config_discovery`` names it. sailmesh resolves them at translation instead: every
HTTP, network or listener filter whose ``config_discovery`` names an added extension config
gets that config as its ``typed_config`` (same effect on Envoy, one resource type fewer; a
change to the EnvoyFilter re-sends the listeners). Names no patch provides are left as they
are (Envoy then waits for ECDS, as with Istio when nothing serves the name). Other operations
do nothing (Istio's only operation for it is ADD).

In: listeners (patched in place). Out: nothing.
"""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import extension_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from sailmesh.xds.envoyfilter.patches import Patches

HCM = "envoy.filters.network.http_connection_manager"


def added_extension_configs(patches: Patches) -> dict[str, extension_pb2.TypedExtensionConfig]:
    out: dict[str, extension_pb2.TypedExtensionConfig] = {}
    for patch in patches.of("EXTENSION_CONFIG"):
        if patch.operation == "ADD" and patch.value is not None:
            config: extension_pb2.TypedExtensionConfig = patch.value
            out[config.name] = config
    return out


def resolve_discovered_configs(
    listeners: dict[str, listener_pb2.Listener],
    configs: dict[str, extension_pb2.TypedExtensionConfig],
) -> None:
    if not configs:
        return
    for listener in listeners.values():
        for lf in listener.listener_filters:
            _resolve(lf, configs)
        chains = list(listener.filter_chains)
        if listener.HasField("default_filter_chain"):
            chains.append(listener.default_filter_chain)
        for fc in chains:
            for flt in fc.filters:
                _resolve(flt, configs)
                if flt.name == HCM and flt.HasField("typed_config"):
                    _resolve_http(flt, configs)


def _resolve_http(flt: Any, configs: dict[str, extension_pb2.TypedExtensionConfig]) -> None:
    hcm = hcm_pb2.HttpConnectionManager()
    if not flt.typed_config.Unpack(hcm):
        return
    if any([_resolve(h, configs) for h in hcm.http_filters]):
        flt.typed_config.Pack(hcm)


def _resolve(flt: Any, configs: dict[str, extension_pb2.TypedExtensionConfig]) -> bool:
    if not flt.HasField("config_discovery"):
        return False
    config = configs.get(flt.name)  # ECDS asks for the filter's name
    if config is None:
        return False
    flt.typed_config.CopyFrom(config.typed_config)  # clears config_discovery (a oneof)
    return True
