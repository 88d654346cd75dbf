"""Add-ons are refused in one line where they cannot run; the Prometheus add-on's files."""

from __future__ import annotations

import pytest
import yaml

from sailmesh.app.addons import check_addons, prometheus_spec
from sailmesh.runtime.addons import AddonUnavailable
from sailmesh.runtime.host import RuntimeHost
from sailmesh.telemetry.prometheus import CONFIG_FILE, RULES_FILE


def test_unknown_add_ons_and_modes_without_a_node_namespace_are_refused() -> None:
    host = RuntimeHost("explicit")
    with pytest.raises(AddonUnavailable, match="unknown add-on 'grafana'; known: prometheus"):
        check_addons(("grafana",), host)
    with pytest.raises(AddonUnavailable, match="node network namespace of netns mode"):
        check_addons(("prometheus",), host)
    check_addons((), host)  # nothing asked, nothing to refuse


def test_the_prometheus_spec_scrapes_the_monitoring_port_and_loads_the_rules() -> None:
    spec = prometheus_spec("/usr/bin/prometheus", "2s")
    assert spec.port == 9090 and spec.ready_path == "/-/ready"
    assert "--config.file={dir}/prometheus.yml" in spec.argv
    config = yaml.safe_load(spec.files[CONFIG_FILE])
    assert config["global"]["scrape_interval"] == "2s"
    assert "IstioHigh5xxRate" in spec.files[RULES_FILE]
