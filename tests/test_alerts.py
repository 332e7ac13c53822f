"""deploy/alerts.yml: the example alert rules name only metrics the app exports, and README explains each."""

import re
from pathlib import Path
from typing import Any

import django_prometheus.db.metrics  # noqa: F401 - registers django-prometheus's database metrics
import pytest
import yaml
from django_prometheus.middleware import Metrics
from prometheus_client import REGISTRY

import chatproject.metrics  # noqa: F401 - registers our metrics

ROOT = Path(__file__).resolve().parent.parent
METRIC = re.compile(r"\b((?:chat|django)_[a-z0-9_]+)")


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for group in yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]


def exported_names() -> set[str]:
    """Every sample name the registry can export, whether or not a sample exists yet."""
    Metrics.get_instance()  # django-prometheus's request metrics, registered by its middleware
    names = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in ("", "_total", "_bucket", "_count", "_sum")}
    return names


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_every_alert_names_only_exported_metrics(rule: dict[str, Any]) -> None:
    named = set(METRIC.findall(rule["expr"]))

    assert named or "up{" in rule["expr"]
    assert named <= exported_names(), named - exported_names()


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_severity_a_summary_and_a_readme_entry(rule: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()

    assert rule["labels"]["severity"] in {"page", "warn", "info"}
    assert rule["annotations"]["summary"]
    assert f"| `{rule['alert']}` |" in readme
