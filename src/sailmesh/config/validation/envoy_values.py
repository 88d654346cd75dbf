"""Patch values (EnvoyFilter ``patch.value``, YAML as plain dicts) to Envoy protobuf messages.

Used twice: validation refuses a value that is not valid Envoy configuration for the patched
type (as Istio's validation does, so a bad patch fails at ``apply`` instead of being skipped
later), and translation converts the values it patches with.

In: a value dict and the message class an ``applyTo`` patches (Listener, FilterChain, Filter,
HttpFilter, RouteConfiguration, VirtualHost, Route, Cluster, ListenerFilter,
TypedExtensionConfig). Out: the message, with every ``typed_config``/``Any`` given as
``{"@type": ..., fields...}`` packed as a protobuf ``Any`` (Envoy's JSON mapping, what Istio's
``xds.StructToMessage`` does). The message types an ``@type`` names are imported on demand from
the installed ``xds-protos`` package (every ``*_pb2`` module of the type's proto package), so a
value may use any extension whose protos are installed. A value that does not convert raises
:class:`PatchValueError` (its message names the field that failed).
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import json_format, message_factory, symbol_database
from google.protobuf.message import Message

from sailmesh.errors import SailmeshError

#: The Envoy message an ``applyTo`` patches (by its full protobuf name, imported on first use so
#: that validating other kinds never loads Envoy's protos).
VALUE_TYPE_NAMES: dict[str, str] = {
    "LISTENER": "envoy.config.listener.v3.Listener",
    "FILTER_CHAIN": "envoy.config.listener.v3.FilterChain",
    "NETWORK_FILTER": "envoy.config.listener.v3.Filter",
    "HTTP_FILTER": "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
    "ROUTE_CONFIGURATION": "envoy.config.route.v3.RouteConfiguration",
    "VIRTUAL_HOST": "envoy.config.route.v3.VirtualHost",
    "HTTP_ROUTE": "envoy.config.route.v3.Route",
    "CLUSTER": "envoy.config.cluster.v3.Cluster",
    "EXTENSION_CONFIG": "envoy.config.core.v3.TypedExtensionConfig",
    "BOOTSTRAP": "envoy.config.bootstrap.v3.Bootstrap",
    "LISTENER_FILTER": "envoy.config.listener.v3.ListenerFilter",
}


class PatchValueError(SailmeshError, ValueError):
    """A patch value that is not valid Envoy configuration for the patched type."""


def to_message(value: dict[str, Any], message_type: type[Message]) -> Message:
    """``value`` as a ``message_type`` (``@type`` Anys resolved through the installed protos)."""
    _import_any_types(value)
    value = typed_struct_to_any(value)
    out = message_type()
    try:
        json_format.ParseDict(value, out)
    except (json_format.ParseError, TypeError, ValueError, KeyError) as exc:
        raise PatchValueError(f"not a valid {out.DESCRIPTOR.name}: {exc}") from None
    return out


def value_type(apply_to: str) -> type[Message] | None:
    """The message class ``apply_to`` patches (None for an unknown one)."""
    full_name = VALUE_TYPE_NAMES.get(apply_to)
    if full_name is None or not import_type(full_name):
        return None
    descriptor = symbol_database.Default().pool.FindMessageTypeByName(full_name)
    found: type[Message] = message_factory.GetMessageClass(descriptor)
    return found


def value_problem(apply_to: str, value: dict[str, Any]) -> str | None:
    """Why ``value`` is not a valid patch for ``apply_to`` (None when it converts)."""
    message_type = value_type(apply_to)
    if message_type is None:
        return None
    try:
        to_message(value, message_type)
    except PatchValueError as exc:
        return str(exc)
    return None


def _import_any_types(value: Any) -> None:
    """Import the modules defining every ``@type`` found anywhere in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("@type", "type_url") and isinstance(item, str):  # type_url: TypedStruct
                import_type(item)
            else:
                _import_any_types(item)
    elif isinstance(value, list):
        for item in value:
            _import_any_types(item)


def import_type(type_url: str) -> bool:
    """Make the message ``type_url`` names known to protobuf's pool; False when no installed
    module defines it."""
    full_name = type_url.rsplit("/", 1)[-1]
    if _known(full_name):
        return True
    package = full_name.rpartition(".")[0]
    _import_package(package)
    return _known(full_name)


def _known(full_name: str) -> bool:
    try:
        symbol_database.Default().pool.FindMessageTypeByName(full_name)
    except KeyError:
        return False
    return True


@cache
def _import_package(package: str) -> None:
    """Import every ``*_pb2`` module of proto ``package`` (``envoy.extensions.filters...v3``)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return
    for location in spec.submodule_search_locations:
        for path in sorted(Path(location).glob("*_pb2.py")):
            try:
                importlib.import_module(f"{package}.{path.stem}")
            except ImportError:
                continue


_TYPED_STRUCTS = frozenset({"udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"})


def typed_struct_to_any(value: Any) -> Any:
    """``value`` with every ``TypedStruct`` whose ``type_url`` names an installed type written
    as that type (``{"@type": type_url, **value}``): Envoy accepts both, and the typed form can
    be merged and is what ``proxy-config`` shows."""
    if isinstance(value, list):
        return [typed_struct_to_any(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = str(value.get("@type", "")).rsplit("/", 1)[-1]
    inner_url = value.get("type_url")
    if kind in _TYPED_STRUCTS and isinstance(inner_url, str) and import_type(inner_url):
        inner = value.get("value") or {}
        return {"@type": inner_url, **typed_struct_to_any(inner)}
    return {key: typed_struct_to_any(item) for key, item in value.items()}
