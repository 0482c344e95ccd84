"""Free text survives storage byte for byte, whatever it holds.

PostgreSQL writes go through COPY, whose format gives tabs, newlines, quotes, backslashes,
`\\N` and a lone `\\.` special meanings; an empty string must stay distinct from NULL.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy import Engine

from vatsim_pipeline.feed.models import FlightPlan
from vatsim_pipeline.storage.copy_csv import CsvStream, encode
from vatsim_pipeline.storage.schema import controllers, flights, prefiles
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.support import parsed, rows

NASTY = (
    'PBN/A1B1 "quoted", comma\ttab\r\nCRLF\nline\\back\\\\slash \\N \\. '
    'ünïcødé ✈ 日本語 🛫\n\\.\n,"\n'
)


def test_text_with_copy_special_characters_round_trips(engine: Engine) -> None:
    snapshot = parsed(shared_data("vatsim-data_20250806T065457Z.json"))
    pilot = snapshot.pilots[0]
    plan = FlightPlan(
        flight_rules="I",
        departure="",
        arrival="\\.",
        alternate=None,
        remarks=NASTY,
        route="\\N",
        revision_id=0,
    )
    odd_pilot = dataclasses.replace(pilot, name='Zoë \t O\'Brien "ZB"', flight_plan=plan)
    controller = dataclasses.replace(snapshot.controllers[0], text_atis=NASTY, atis_code="")
    prefile = dataclasses.replace(snapshot.prefiles[0], flight_plan=plan, name="")
    odd = dataclasses.replace(
        snapshot,
        pilots=[odd_pilot, *snapshot.pilots[1:]],
        controllers=[controller, *snapshot.controllers[1:]],
        prefiles=[prefile, *snapshot.prefiles[1:]],
    )

    write_snapshot(engine, odd)

    [flight] = [r for r in rows(engine, flights) if r["callsign"] == pilot.callsign]
    assert flight["name"] == 'Zoë \t O\'Brien "ZB"'
    assert flight["remarks"] == NASTY
    assert (flight["departure"], flight["arrival"], flight["alternate"]) == ("", "\\.", None)
    assert (flight["route"], flight["revision_id"], flight["aircraft"]) == ("\\N", 0, None)
    [stored_controller] = [
        r for r in rows(engine, controllers) if r["callsign"] == controller.callsign
    ]
    assert (stored_controller["text_atis"], stored_controller["atis_code"]) == (NASTY, "")
    [stored_prefile] = [
        r
        for r in rows(engine, prefiles)
        if (r["cid"], r["callsign"]) == (prefile.cid, prefile.callsign)
    ]
    assert (stored_prefile["name"], stored_prefile["remarks"]) == ("", NASTY)
    assert len(rows(engine, flights)) == len(snapshot.pilots)


def test_copy_encoding_quotes_text_and_leaves_null_bare() -> None:
    seen = datetime(2024, 11, 22, 12, 50, 25, 116137, tzinfo=UTC)
    rows = [
        (1, None, "", 'say "hi"', "a,b\n\\.\n", 0.1 + 0.2, seen),
        (-2, "\\N", None, "\t", "ü✈", 1e-7, None),
    ]

    text = encode(rows)

    assert text == (
        '1,,"","say ""hi""","a,b\n\\.\n",0.30000000000000004,2024-11-22 12:50:25.116137+00:00\n'
        '-2,"\\N",,"\t","ü✈",1e-07,\n'
    )
    stream = CsvStream(rows * 300)
    chunks = list(iter(stream.read, ""))
    assert len(chunks) == 3
    assert "".join(chunks) == text * 300
