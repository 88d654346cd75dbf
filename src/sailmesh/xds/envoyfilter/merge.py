"""MERGE of a patch value into an Envoy message, with Istio's semantics.

In: the generated message and the patch value (same type). Out: the generated message changed
in place. Protobuf's merge (MERGE_AND_REPLACE_LIST: the same, but a list the value sets
replaces the generated one, at any depth outside ``Any`` configs), except: a ``Duration`` is replaced whole (Istio's fix for
``connect_timeout: 10s`` over ``0.5s`` giving ``10.5s``); an ``Any`` is replaced whole unless
:func:`merge_any` is asked for (filter ``typed_config`` and ``transport_socket`` merges, where
Istio unpacks both sides and merges the messages); repeated fields are appended; map entries
are replaced; scalars set in the value overwrite.
"""

from __future__ import annotations

from google.protobuf import any_pb2, symbol_database
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from sailmesh.config.validation.envoy_values import import_type

_REPLACED = frozenset({"google.protobuf.Duration", "google.protobuf.Any"})


def merge(dst: Message, src: Message, replace_lists: bool = False) -> None:
    """Merge ``src`` into ``dst`` (see the module docstring); ``replace_lists``: lists set in
    ``src`` replace those of ``dst`` (Istio's MERGE_AND_REPLACE_LIST)."""
    for fd, value in src.ListFields():
        if fd.is_repeated and replace_lists:
            dst.ClearField(fd.name)
        if fd.is_repeated:
            if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
                _merge_map(getattr(dst, fd.name), value, fd)
            else:
                getattr(dst, fd.name).extend(value)
        elif fd.message_type is not None:
            target = getattr(dst, fd.name)
            if fd.message_type.full_name in _REPLACED:
                target.CopyFrom(value)
            else:
                target.SetInParent()
                merge(target, value, replace_lists)
        else:
            setattr(dst, fd.name, value)


def _merge_map(dst: object, src: object, fd: FieldDescriptor) -> None:
    value_fd = fd.message_type.fields_by_name["value"]
    for key in src:  # type: ignore[attr-defined]
        if value_fd.message_type is not None:
            dst[key].CopyFrom(src[key])  # type: ignore[index]
        else:
            dst[key] = src[key]  # type: ignore[index]


def merge_any(dst: any_pb2.Any, src: any_pb2.Any) -> None:
    """Merge the message packed in ``src`` into the one packed in ``dst``, as Istio's
    ``MergeAnyWithAny`` (``src`` is read as ``dst``'s type when the type URLs differ). When
    ``dst`` is empty or its type is not installed, ``src`` replaces it."""
    if not dst.type_url or not import_type(dst.type_url):
        dst.CopyFrom(src)
        return
    pool_type = symbol_database.Default().GetSymbol(dst.type_url.rsplit("/", 1)[-1])
    current, update = pool_type(), pool_type()
    dst.Unpack(current)
    update.ParseFromString(src.value)
    merge(current, update)
    dst.Pack(current)
