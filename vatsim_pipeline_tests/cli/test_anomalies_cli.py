"""`vatsim-pipeline anomalies list` on stored injected anomalies, and refusals."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vatsim_pipeline.cli.app import main
from vatsim_pipeline_tests.cli import refused, succeeded
from vatsim_pipeline_tests.storage.anomaly_support import (
    copies,
    ingest,
    pilot,
    sequence_files,
    stamps,
)


def _inject(index: int, document: dict) -> None:
    if index in (1, 2):
        pilot(document, "AAL1233")["transponder"] = "7600"
    if index == 2:
        pilot(document, "AAL298")["latitude"] += 5.0


def test_list_filters_by_kind_and_activity(engine, database_url, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files(), _inject)
    ingest(engine, paths)
    t = stamps(paths)
    everything = json.loads(succeeded(database_url, "anomalies", "list", "--json"))
    assert everything["total"] == 3
    assert everything["until"] == t[-1].isoformat()
    assert [(i["kind"], i["callsign"]) for i in everything["items"]] == [
        ("teleport", "AAL298"),
        ("radio_failure_squawk", "AAL1233"),
        ("emergency_squawk", "RDF7"),
    ]
    active = json.loads(succeeded(database_url, "anomalies", "list", "--active", "--json"))
    assert [i["callsign"] for i in active["items"]] == ["RDF7"]
    radio = json.loads(
        succeeded(database_url, "anomalies", "list", "--kind", "radio_failure_squawk", "--json")
    )
    (item,) = radio["items"]
    assert item["started_at"] == t[1].isoformat()
    assert item["ended_at"] == t[2].isoformat()
    assert item["trigger"]["transponder"] == "7600"
    text = succeeded(database_url, "anomalies", "list", "--kind", "teleport")
    assert "AAL298" in text and "distance_nm=300" in text
    assert text.splitlines()[-1].startswith("showing 1-1 of 1 anomalies")


def test_list_refuses_bad_options(engine, database_url) -> None:
    assert refused(database_url, "anomalies", "list", "--kind", "ufo").startswith(
        "error: --kind: ufo is not one of emergency_squawk"
    )
    assert refused(database_url, "anomalies", "list", "--since", "soon").startswith(
        "error: --since: 'soon' is neither a duration"
    )


def test_a_malformed_webhook_url_is_refused_at_start(database_url) -> None:
    result = CliRunner().invoke(
        main,
        ["anomalies", "list"],
        env={"VATSIM_DATABASE_URL": database_url, "VATSIM_ALERT_WEBHOOK_URL": "hooks.slack.com"},
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: VATSIM_ALERT_WEBHOOK_URL: 'hooks.slack.com' is not an http(s) URL with a host\n"
    )
