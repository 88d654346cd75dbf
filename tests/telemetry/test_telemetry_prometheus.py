"""The Prometheus add-on's configuration and rules: accepted by Prometheus' own checker."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from sailmesh.telemetry.prometheus import ALERTS, CONFIG_FILE, RULES_FILE, config_yaml, rules_yaml

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def test_config_scrapes_pods_by_service_discovery_and_the_control_plane() -> None:
    config = yaml.safe_load(config_yaml("127.0.0.1:15014", "/sd/targets", "/metrics", "1s"))
    assert config["global"]["scrape_interval"] == "1s"
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "istiod", "kubernetes-pods"}
    assert (
        jobs["kubernetes-pods"]["http_sd_configs"][0]["url"] == "http://127.0.0.1:15014/sd/targets"
    )
    assert jobs["istiod"]["static_configs"][0]["labels"]["app"] == "istiod"
    assert config["rule_files"] == [RULES_FILE]


def test_promtool_accepts_the_config_and_the_rules(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(config_yaml("127.0.0.1:15014", "/sd/targets", "/metrics"))
    (tmp_path / RULES_FILE).write_text(rules_yaml())
    rules = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / RULES_FILE)],
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"{len(ALERTS)} rules found" in rules.stdout
    config = subprocess.run([PROMTOOL, "check", "config", str(tmp_path / CONFIG_FILE)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_rules_cover_errors_latency_nacks_push_errors_and_certificates() -> None:
    exprs = " ".join(a.expr for a in ALERTS)
    for needle in ('response_code=~"5.."', "istio_request_duration_milliseconds_bucket",
                   "pilot_total_xds_rejects", "_senderr", "days_until_first_cert_expiring"):  # fmt: skip
        assert needle in exprs
