"""Records that cannot be true are set aside with their reason; the rest is stored."""

from __future__ import annotations

import copy
import json

from sqlalchemy import Engine

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.storage.schema import controllers, feed_snapshots, flights, rejected_records
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.support import key_of, raw, rows

SOURCE = shared_data("vatsim-data_20250806T065457Z.json")


def _broken_payload() -> tuple[dict, dict[tuple[str, int], tuple[str, str]]]:
    """The real feed with three records broken; returns it and what each reason names."""
    document = copy.deepcopy(raw(SOURCE))
    document["pilots"][3]["latitude"] = 95
    del document["pilots"][7]["callsign"]
    document["controllers"][2]["cid"] = "abc"
    return document, {
        ("pilots", 3): ("latitude", "95"),
        ("pilots", 7): ("callsign", "missing"),
        ("controllers", 2): ("cid", "'abc'"),
    }


def test_bad_records_go_to_rejected_records_and_the_rest_is_stored(engine: Engine) -> None:
    document, reasons = _broken_payload()
    good_pilots = [p for i, p in enumerate(document["pilots"]) if i not in (3, 7)]
    good_controllers = [c for i, c in enumerate(document["controllers"]) if i != 2]
    snapshot = parse_data_feed(json.dumps(document).encode())

    write = write_snapshot(engine, snapshot)
    repeat = write_snapshot(engine, snapshot)

    assert write.rejected == repeat.rejected == 3
    stored = rows(engine, rejected_records)
    assert {(r["section"], r["record_index"]) for r in stored} == reasons.keys()
    for row in stored:
        field, value = reasons[(row["section"], row["record_index"])]
        assert row["reason"].startswith(field) and value in row["reason"], row["reason"]
        original = document[row["section"]][row["record_index"]]
        assert json.loads(row["record"]) == original
        assert row["callsign"] == original.get("callsign")
    assert {(r["cid"], r["callsign"], r["logon_time"]) for r in rows(engine, flights)} == {
        key_of(p) for p in good_pilots
    }
    assert {(r["cid"], r["callsign"], r["logon_time"]) for r in rows(engine, controllers)} == {
        key_of(c) for c in good_controllers + document["atis"]
    }
    [counts] = rows(engine, feed_snapshots)
    assert counts["pilots"] == len(document["pilots"]) - 2
    assert counts["controllers"] == len(document["controllers"]) - 1
    assert counts["atis"] == len(document["atis"])
    assert counts["rejected"] == 3
