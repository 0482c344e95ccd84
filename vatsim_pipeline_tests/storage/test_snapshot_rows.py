"""Rows are spelled out by hand for speed: each value must sit under its column's name."""

from __future__ import annotations

import dataclasses

from vatsim_pipeline.feed.models import FLIGHT_PLAN_FIELDS, Rejected, Transceiver
from vatsim_pipeline.storage.schema import controllers, flights, prefiles, transceivers
from vatsim_pipeline.storage.snapshot_rows import (
    CONTROLLER_COLUMNS,
    FLIGHT_COLUMNS,
    PLAN_COLUMNS,
    PREFILE_COLUMNS,
    RADIO_COLUMNS,
    RADIO_LINK_COLUMNS,
    REJECTED_COLUMNS,
    snapshot_rows,
)
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.support import parsed

SNAPSHOT = parsed(shared_data("vatsim-data_20250806T065457Z.json"))


def _expected(record: object, columns: tuple[str, ...]) -> dict:
    plan = getattr(record, "flight_plan", None)
    values = {}
    for name in columns:
        source = plan if name in PLAN_COLUMNS else record
        values[name] = getattr(source, name, None)
    return values


def test_every_model_field_has_a_column_of_the_table() -> None:
    assert set(PLAN_COLUMNS) == set(FLIGHT_PLAN_FIELDS)
    for columns, table in (
        (FLIGHT_COLUMNS, flights),
        (CONTROLLER_COLUMNS, controllers),
        (PREFILE_COLUMNS, prefiles),
        (RADIO_COLUMNS, transceivers),
    ):
        assert set(columns) <= set(table.columns.keys()), table.name
        assert len(set(columns)) == len(columns), table.name


def test_flight_and_prefile_values_sit_under_their_column() -> None:
    rows = snapshot_rows(SNAPSHOT)

    with_plan = [p for p in SNAPSHOT.pilots if p.flight_plan is not None]
    without_plan = [p for p in SNAPSHOT.pilots if p.flight_plan is None]
    assert with_plan and without_plan
    for pilot, row in zip(SNAPSHOT.pilots, rows.flights, strict=True):
        assert dict(zip(FLIGHT_COLUMNS, row, strict=True)) == _expected(pilot, FLIGHT_COLUMNS)
    by_key = {row[:2]: row for row in rows.prefiles}
    for prefile in SNAPSHOT.prefiles:
        row = by_key[(prefile.cid, prefile.callsign)]
        assert dict(zip(PREFILE_COLUMNS, row, strict=True)) == _expected(prefile, PREFILE_COLUMNS)


def test_controller_radio_and_rejected_values_sit_under_their_column() -> None:
    controller = SNAPSHOT.controllers[0]
    pilot = SNAPSHOT.pilots[5]
    radios = [
        Transceiver(controller.callsign, 0, 118_000_000, 10.0, 20.0, 30.0, 5.0),
        Transceiver(pilot.callsign, 1, 122_800_000, 1.0, 2.0, None, None),
    ]
    rejected = Rejected("pilots", 4, "ABC123", "latitude 95.0 is outside -90..90", "{}")
    snapshot = dataclasses.replace(SNAPSHOT, transceivers=radios, rejected=[rejected])

    rows = snapshot_rows(snapshot)

    stored = dict(zip(CONTROLLER_COLUMNS, rows.controllers[0], strict=True))
    expected = _expected(controller, CONTROLLER_COLUMNS) | {"latitude": 10.0, "longitude": 20.0}
    assert stored == expected
    assert all(row[-3:-1] == (None, None) for row in rows.controllers[1:])
    columns = (*RADIO_COLUMNS, *RADIO_LINK_COLUMNS)
    assert [dict(zip(columns, row, strict=True)) for row in rows.transceivers] == [
        _expected(radios[0], RADIO_COLUMNS) | {"flight_row": None, "controller_row": 0},
        _expected(radios[1], RADIO_COLUMNS) | {"flight_row": 5, "controller_row": None},
    ]
    assert dict(zip(REJECTED_COLUMNS, rows.rejected[0], strict=True)) == {
        "section": "pilots",
        "record_index": 4,
        "callsign": "ABC123",
        "reason": "latitude 95.0 is outside -90..90",
        "record": "{}",
    }


def test_a_radio_at_a_lower_radios_exact_position_names_it_instead() -> None:
    """The lowest-numbered radio of the station at exactly the same position (heights
    included, NULL equal to NULL) holds it; -0.0 is not 0.0 and another station's radio
    is no twin."""
    pilot = SNAPSHOT.pilots[5]
    other = SNAPSHOT.pilots[6]
    radios = [
        Transceiver(pilot.callsign, 2, 122_800_000, 1.0, 2.0, None, None),
        Transceiver(pilot.callsign, 0, 121_500_000, 1.0, 2.0, None, None),
        Transceiver(pilot.callsign, 1, 118_000_000, 1.0, 2.0, 3.0, None),
        Transceiver(pilot.callsign, 3, 118_100_000, 1.0, -0.0, None, None),
        Transceiver(pilot.callsign, 4, 118_200_000, 1.0, 0.0, None, None),
        Transceiver(pilot.callsign, 5, 118_300_000, 1.0, 0.0, None, None),
        Transceiver(other.callsign, 1, 118_000_000, 1.0, 2.0, None, None),
    ]
    rows = snapshot_rows(dataclasses.replace(SNAPSHOT, transceivers=radios))

    columns = (*RADIO_COLUMNS, *RADIO_LINK_COLUMNS)
    stored = [dict(zip(columns, row, strict=True)) for row in rows.transceivers]
    assert [row["position_of"] for row in stored] == [0, None, None, None, None, 4, None]
    position = ("latitude", "longitude", "height_msl_m", "height_agl_m")
    for row, radio in zip(stored, radios, strict=True):
        own = row["position_of"] is None
        assert [row[name] for name in position] == (
            [getattr(radio, name) for name in position] if own else [None] * 4
        )
        assert (row["frequency_hz"], row["flight_row"]) == (
            radio.frequency_hz,
            5 + (radio.callsign == other.callsign),
        )
