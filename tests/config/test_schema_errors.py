"""Pydantic errors as field-path problems: paths, unknown-field hints, where a field belongs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sailmesh.config.models.destinationrule import DestinationRuleSpec, TrafficPolicy
from sailmesh.config.models.networking_common import TCPSettings
from sailmesh.config.models.virtualservice import HTTPRoute, VirtualServiceSpec
from sailmesh.config.schema_errors import field_index, loc_to_path, model_at, pydantic_problems


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        ((), ""),
        (("spec",), "spec"),
        (("spec", "http", 0, "route"), "spec.http[0].route"),
        (("spec", "http", 2, "match", 1), "spec.http[2].match[1]"),
    ],
)
def test_loc_to_path(loc: tuple[int | str, ...], path: str) -> None:
    assert loc_to_path(loc) == path


@pytest.mark.parametrize(
    ("root", "loc", "model"),
    [
        (VirtualServiceSpec, (), VirtualServiceSpec),
        (VirtualServiceSpec, ("http", 0), HTTPRoute),
        (VirtualServiceSpec, ("http",), HTTPRoute),
        (DestinationRuleSpec, ("trafficPolicy",), TrafficPolicy),
        (VirtualServiceSpec, ("hosts",), None),
    ],
)
def test_model_at(root: type, loc: tuple[int | str, ...], model: type | None) -> None:
    assert model_at(root, loc) is model


def test_field_index_lists_every_place_a_field_is_valid() -> None:
    index = field_index(DestinationRuleSpec)
    assert "trafficPolicy.connectionPool" in index["connectionPool"]
    assert "subsets.trafficPolicy.connectionPool" in index["connectionPool"]


def problems_for(root: type, data: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        root.model_validate(data)  # type: ignore[attr-defined]
    return [(p.path, p.message) for p in pydantic_problems(caught.value, root, prefix=("spec",))]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"hostz": ["a"]}, "spec.hostz", "unknown field 'hostz'; did you mean 'hosts'?"),
        ({"hosts": "a"}, "spec.hosts", "Input should be a valid list (got 'a')"),
        (
            {"http": [{"connectionPool": {}}]},
            "spec.http[0].connectionPool",
            "unknown field 'connectionPool'; valid fields here:",
        ),
    ],
)
def test_problem_messages(data: dict[str, object], path: str, message: str) -> None:
    found = problems_for(VirtualServiceSpec, data)
    assert any(p == path and m.startswith(message) for p, m in found), found


def test_misplaced_field_names_where_it_belongs() -> None:
    [(path, message)] = problems_for(DestinationRuleSpec, {"host": "a", "loadBalancer": {}})
    assert path == "spec.loadBalancer"
    assert message.startswith("unknown field 'loadBalancer' here; 'loadBalancer' belongs under ")
    assert "trafficPolicy.loadBalancer" in message


def test_hint_for_fields_from_older_apis() -> None:
    [(path, message)] = problems_for(TCPSettings, {"keepAlive": {"time": "7200s"}})
    assert path == "spec.keepAlive"
    assert message == (
        "unknown field 'keepAlive'; TCP keepalive is "
        "`tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}`"
    )
