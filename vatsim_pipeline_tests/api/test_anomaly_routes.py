"""`GET /api/anomalies` over real HTTP, on stored injected anomalies, with its parameters'
constraints in the OpenAPI document."""

from __future__ import annotations

from vatsim_pipeline.cli.serve import build_app
from vatsim_pipeline.settings import Settings
from vatsim_pipeline_tests.api import get, ok, serving
from vatsim_pipeline_tests.storage.anomaly_support import (
    copies,
    ingest,
    pilot,
    sequence_files,
    stamps,
)


def _inject(index: int, document: dict) -> None:
    if index >= 3:
        pilot(document, "AAL200")["transponder"] = "7500"
    if index == 2:
        pilot(document, "AAL298")["latitude"] += 5.0


def test_anomalies_are_served_with_filters(vatsim_env, engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files(), _inject)
    ingest(engine, paths)
    t = stamps(paths)
    with serving(build_app(Settings.from_env())) as base:
        everything = ok(base, "/api/anomalies")
        active = ok(base, "/api/anomalies", active="true")
        ended = ok(base, "/api/anomalies", active="false")
        squawks = ok(base, "/api/anomalies", kind="hijack_squawk,emergency_squawk")
        window = ok(base, "/api/anomalies", since=t[3].isoformat(), until=t[4].isoformat())
        empty = ok(base, "/api/anomalies", since="1m", until="2m")
        paged = ok(base, "/api/anomalies", limit=1, offset=1)
        bad_kind = get(base, "/api/anomalies", kind="teleport,ufo")
        bad_active = get(base, "/api/anomalies", active="maybe")
        document = ok(base, "/api/openapi.json")

    assert everything["total"] == 3
    assert everything["until"] == t[-1].isoformat()
    assert [(i["kind"], i["callsign"]) for i in everything["items"]] == [
        ("hijack_squawk", "AAL200"),
        ("teleport", "AAL298"),
        ("emergency_squawk", "RDF7"),
    ]
    teleport = everything["items"][1]
    assert teleport["started_at"] == t[2].isoformat()
    assert teleport["ended_at"] == t[3].isoformat()
    assert teleport["active"] is False
    assert teleport["trigger"]["distance_nm"] > 290
    assert [i["callsign"] for i in active["items"]] == ["AAL200", "RDF7"]
    assert [i["callsign"] for i in ended["items"]] == ["AAL298"]
    assert [i["kind"] for i in squawks["items"]] == ["hijack_squawk", "emergency_squawk"]
    # The teleport ended at t3, so it overlaps [t3, t4]; all three do.
    assert window["total"] == 3
    assert empty["total"] == 0 and empty["items"] == []  # since after until
    assert [i["callsign"] for i in paged["items"]] == ["AAL298"]
    assert bad_kind.status_code == 400
    assert bad_kind.json()["error"].startswith("kind: ")
    assert bad_active.status_code == 400
    assert bad_active.json()["error"].startswith("active: ")

    operation = document["paths"]["/api/anomalies"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert set(parameters) == {"since", "until", "kind", "active", "limit", "offset"}
    assert parameters["kind"]["type"] == "string"
    assert parameters["kind"]["pattern"].startswith("^(?:emergency_squawk|radio_failure_squawk|")
    assert parameters["active"]["type"] == "boolean"
    assert parameters["limit"]["maximum"] == 1000
