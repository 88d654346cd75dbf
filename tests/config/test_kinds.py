"""The kind table: lookups by apiVersion and kind, by name/plural, and served versions."""

from __future__ import annotations

import pytest

from sailmesh.config.kinds import all_kinds, find_kind, kinds_named, lookup


@pytest.mark.parametrize(
    ("api_version", "kind", "served"),
    [
        ("networking.istio.io/v1", "VirtualService", True),
        ("networking.istio.io/v1alpha3", "VirtualService", True),
        ("networking.istio.io/v1alpha3", "EnvoyFilter", True),
        ("networking.istio.io/v1", "EnvoyFilter", False),
        ("networking.istio.io/v1beta1", "ProxyConfig", True),
        ("security.istio.io/v1beta1", "AuthorizationPolicy", True),
        ("security.istio.io/v1alpha3", "AuthorizationPolicy", False),
        ("telemetry.istio.io/v1alpha1", "Telemetry", True),
        ("extensions.istio.io/v1alpha1", "WasmPlugin", True),
        ("install.istio.io/v1alpha1", "IstioOperator", True),
        ("v1", "Service", True),
        ("apps/v1", "Deployment", True),
        ("v1", "Deployment", False),
        ("v1", "virtualservice", False),
    ],
)
def test_lookup_by_api_version_and_kind(api_version: str, kind: str, served: bool) -> None:
    info = lookup(api_version, kind)
    assert (info is not None) == served
    if info is not None:
        assert info.kind == kind and api_version in info.api_versions


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("VirtualService", "VirtualService"),
        ("virtualservice", "VirtualService"),
        ("virtualservices", "VirtualService"),
        ("DESTINATIONRULE", "DestinationRule"),
        ("authorizationpolicies", "AuthorizationPolicy"),
        ("telemetries", "Telemetry"),
        ("deployments", "Deployment"),
    ],
)
def test_find_kind_by_name_lowercase_or_plural(name: str, kind: str) -> None:
    info = find_kind(name)
    assert info is not None and info.kind == kind


def test_unknown_names_find_nothing() -> None:
    assert find_kind("nosuchkind") is None
    assert kinds_named("NoSuchKind") == []


@pytest.mark.parametrize(
    ("kind", "api_versions"),
    [
        (
            "Gateway",
            (
                "networking.istio.io/v1",
                "networking.istio.io/v1beta1",
                "networking.istio.io/v1alpha3",
            ),
        ),
        ("PeerAuthentication", ("security.istio.io/v1", "security.istio.io/v1beta1")),
        ("Telemetry", ("telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1")),
        ("Namespace", ("v1",)),
        ("Deployment", ("apps/v1",)),
    ],
)
def test_served_versions_preferred_first(kind: str, api_versions: tuple[str, ...]) -> None:
    [info] = kinds_named(kind)
    assert info.api_versions == api_versions
    assert info.preferred_api_version == api_versions[0]


def test_only_namespace_is_cluster_scoped() -> None:
    assert [k.kind for k in all_kinds() if not k.namespaced] == ["Namespace"]


def test_kind_names_and_plurals_are_unique() -> None:
    kinds = all_kinds()
    assert len({k.kind for k in kinds}) == len(kinds)
    assert len({k.plural for k in kinds}) == len(kinds)


def test_istio_bodies_have_a_spec_and_ignore_status() -> None:
    info = lookup("networking.istio.io/v1", "Sidecar")
    assert info is not None
    body = info.body.model_validate({"spec": {}, "status": {"anything": 1}})
    assert getattr(body, "spec", None) is not None
