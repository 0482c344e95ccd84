"""Archive instead of delete, on both backends, with real recorded snapshots: retention
writes each past day to Parquet, the day leaves the database, and the API answers the
same tracks from the files; late rows merge into a day's file; a missing or damaged
file is reported and refused, never skipped."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from vatsim_pipeline.api.app import create_app
from vatsim_pipeline.archive.layout import SCHEMAS, SORT_KEYS
from vatsim_pipeline.archive.reader import check_files
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.maintenance.table_retention import TableRetention, sweep_tables
from vatsim_pipeline.sectors.staffing import StaffingIndex
from vatsim_pipeline.storage.archive_log import all_archived
from vatsim_pipeline.storage.assignment_runs import assignment_snapshots
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.partitions import PARTITIONED, PARTITIONED_NAMES, list_partitions
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.reads_map import flights_at
from vatsim_pipeline.storage.reads_tracks import track_frame
from vatsim_pipeline.storage.schema import flight_positions, flights
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.api import get, ok, serving
from vatsim_pipeline_tests.cli import refused
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data

DAY = date(2024, 11, 22)
NOW = datetime(2024, 12, 30, 9, 0, tzinfo=UTC)
FLIGHTS_COMPARED = 40


def _store(engine: Engine, path: Path, *, radios: bool = False) -> None:
    snapshot = parse_data_feed(path.read_bytes())
    if radios:
        parse_transceivers(shared_data(TRANSCEIVERS_FEED).read_bytes(), snapshot)
    write_snapshot(engine, snapshot)
    update_occupancy(engine, snapshot.update_timestamp, EVERYWHERE_EDGG)


class _Everywhere:
    """A locator placing every position in EDGG: runs of a whole flight."""

    def locate_many(self, lats, lons) -> list[str | None]:
        return ["EDGG"] * len(lats)


EVERYWHERE_EDGG = SectorSet(key=(1, None), index=_Everywhere(), staffing=StaffingIndex([]))  # type: ignore[arg-type]


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in PARTITIONED
        }


def _retention(archive: Path) -> TableRetention:
    return TableRetention(
        days=dict.fromkeys(PARTITIONED_NAMES, 30), ahead_days=0, archive_dir=archive
    )


def _tracks(base: str, ids: list[int]) -> dict[int, dict]:
    return {flight: ok(base, f"/api/flights/{flight}/track") for flight in ids}


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The archive folder, set for the reads as `serve` would have it."""
    folder = tmp_path / "archive"
    monkeypatch.setenv("VATSIM_ARCHIVE_DIR", str(folder))
    return folder


@pytest.fixture
def recorded(engine: Engine) -> list[int]:
    """Four of the five recorded snapshots of 2024-11-22 (the first with radios), every
    position assigned a sector; the ids of some flights, the longest tracks first."""
    for index, path in enumerate(sequence_files()[:4]):
        _store(engine, path, radios=index == 0)
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(flight_positions.c.flight_id)
                .group_by(flight_positions.c.flight_id)
                .order_by(func.count().desc(), flight_positions.c.flight_id)
                .limit(FLIGHTS_COMPARED)
            ).scalars()
        )


def test_a_past_day_moves_to_parquet_and_the_api_answers_the_same(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    before_counts = _counts(engine)
    app = create_app(engine)
    with serving(app) as base:
        before = _tracks(base, recorded)
        assert all(len(track["positions"]) == 4 for track in before.values())

        sweep = sweep_tables(engine, _retention(archive), now=NOW)

        assert _counts(engine) == dict.fromkeys(PARTITIONED_NAMES, 0)
        assert _tracks(base, recorded) == before
        callsign = before[recorded[0]]["flight"]["callsign"]
        assert ok(base, f"/api/flights/{callsign}/stats")["position_count"] == 4

    for name in PARTITIONED_NAMES:
        relative = f"{name}/day=2024-11-22/{name}_2024-11-22.parquet"
        assert sweep.tables[name].archived == [relative]
        assert sweep.tables[name].rows == sweep.tables[name].archived_rows == before_counts[name]
        table = pq.read_table(archive / relative)
        assert table.schema.remove_metadata() == SCHEMAS[name]
        assert table.num_rows == before_counts[name]
        keys = table.select(list(SORT_KEYS[name])).to_pylist()
        assert keys == sorted(keys, key=lambda row: tuple(row.values()))
    assert [(d.table, d.day, d.rows) for d in all_archived(engine)] == sorted(
        (name, DAY, before_counts[name]) for name in PARTITIONED_NAMES
    )
    if engine.dialect.name == "postgresql":
        assert not [p for p in list_partitions(engine) if p.first_day == DAY]
    assert "archived 3 day file(s) first" in sweep.describe()
    # Plain Hive-style Parquet: one dataset per table, with the day as a column.
    dataset = ds.dataset(archive / "flight_positions", format="parquet", partitioning="hive")
    assert dataset.count_rows() == before_counts["flight_positions"]
    assert "day" in dataset.schema.names


DOCS = Path(__file__).resolve().parents[2] / "docs" / "archive.md"


def _documented_pyarrow_example() -> str:
    """The pyarrow example of docs/archive.md, as written there."""
    text = DOCS.read_text()
    start = text.index("```python\n", text.index("pyarrow (this example runs")) + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_documented_pyarrow_example_reads_the_archive(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    p = flight_positions.c
    with engine.connect() as connection:
        stored = connection.execute(
            select(p.observed_at, p.latitude, p.longitude, p.altitude)
            .where(p.flight_id == recorded[0])
            .order_by(p.observed_at)
        ).all()
        positions, flown = connection.execute(
            select(func.count(), func.count(p.flight_id.distinct()))
        ).one()
    sweep_tables(engine, _retention(archive), now=NOW)
    code = _documented_pyarrow_example()
    code = code.replace("/srv/vatsim-archive", str(archive)).replace("123456", str(recorded[0]))

    scope: dict = {}
    exec(code, scope)  # the documentation's own code, run as a user would

    track = [tuple(row.values()) for row in scope["track"].to_pylist()]
    assert track == [tuple(row) for row in stored] and len(track) == 4
    assert scope["november"].to_pylist() == [
        {"day": "2024-11-22", "flight_id_count": positions, "flight_id_count_distinct": flown}
    ]


def _frame_rows(engine: Engine) -> list[tuple]:
    """The analytics' frame of the whole day, as plain values (nulls as None)."""
    start = datetime(2024, 11, 22, tzinfo=UTC)
    with engine.connect() as connection:
        frame = track_frame(connection, start, start + timedelta(days=1))
    return [
        tuple(None if pd.isna(value) else value for value in row)
        for row in frame.astype(object).itertuples(index=False)
    ]


def test_the_analytics_frame_of_an_archived_day_is_the_same(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    before = _frame_rows(engine)

    sweep_tables(engine, _retention(archive), now=NOW)

    assert _counts(engine)["flight_positions"] == 0
    assert _frame_rows(engine) == before
    assert len(before) > 3000


def test_the_map_replays_an_archived_moment_as_before(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    at = datetime(2024, 11, 22, 12, 50, 0, tzinfo=UTC)  # between the 3rd and 4th update
    with engine.connect() as connection:
        before = flights_at(connection, at, timedelta(minutes=2))

    sweep_tables(engine, _retention(archive), now=NOW)

    with engine.connect() as connection:
        after = flights_at(connection, at, timedelta(minutes=2))
    assert _counts(engine)["flight_positions"] == 0
    assert (after.at, after.live) == (before.at, False)
    assert after.rows == before.rows
    assert len(before.rows) > 900 and {row[-1] for row in before.rows} == {"EDGG"}


def _as_before_runs(engine: Engine, path: Path, table: str = "flight_positions") -> None:
    """Rewrite an archived positions (or sector assignments) file as an archive from
    before runs wrote it: one row per snapshot, no `last_observed_at` column."""
    layout = SCHEMAS[table]
    old = layout.remove(layout.get_field_index("last_observed_at"))
    expanded = {"flight_positions": position_snapshots, "sector_assignments": assignment_snapshots}
    view = expanded[table]
    with engine.connect() as connection:
        rows = connection.execute(select(view).order_by(view.c.flight_id, view.c.observed_at)).all()
    pq.write_table(pa.Table.from_pylist([row._asdict() for row in rows], schema=old), path)


def test_a_day_archived_before_runs_still_reads_the_same(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    at = datetime(2024, 11, 22, 12, 50, 0, tzinfo=UTC)
    path = archive / f"flight_positions/day={DAY}/flight_positions_{DAY}.parquet"
    sectors = archive / f"sector_assignments/day={DAY}/sector_assignments_{DAY}.parquet"
    with engine.connect() as connection:
        moment = flights_at(connection, at, timedelta(minutes=2))
    app = create_app(engine)
    with serving(app) as base:
        before = _tracks(base, recorded)
        runs = _counts(engine)
        scratch = archive.parent / "before-runs.parquet"
        sector_scratch = archive.parent / "sectors-before-runs.parquet"
        _as_before_runs(engine, scratch)  # while the tables still hold the day
        _as_before_runs(engine, sector_scratch, "sector_assignments")

        sweep_tables(engine, _retention(archive), now=NOW)
        # Files written now carry the runs' end.
        assert "last_observed_at" in pq.read_schema(sectors).names
        assert pq.read_metadata(sectors).num_rows == runs["sector_assignments"]
        scratch.replace(path)
        sector_scratch.replace(sectors)

        assert "last_observed_at" not in pq.read_schema(path).names
        assert "last_observed_at" not in pq.read_schema(sectors).names
        assert pq.read_metadata(path).num_rows > runs["flight_positions"]
        assert pq.read_metadata(sectors).num_rows > 3 * runs["sector_assignments"]
        assert _tracks(base, recorded) == before
    with engine.connect() as connection:
        assert flights_at(connection, at, timedelta(minutes=2)).rows == moment.rows


def test_rows_stored_late_for_an_archived_day_merge_into_its_file(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    sweep_tables(engine, _retention(archive), now=NOW)
    _store(engine, sequence_files()[4])
    late = _counts(engine)

    sweep = sweep_tables(engine, _retention(archive), now=NOW)

    assert sweep.tables["flight_positions"].archived_rows == late["flight_positions"]
    assert _counts(engine) == dict.fromkeys(PARTITIONED_NAMES, 0)
    positions = pq.read_table(
        archive / "flight_positions/day=2024-11-22/flight_positions_2024-11-22.parquet"
    )
    per_time = Counter(moment for moment in positions.column("observed_at").to_pylist())
    assert len(per_time) == 5
    assert [d.rows for d in all_archived(engine, ["flight_positions"])] == [positions.num_rows]
    keys = positions.select(["flight_id", "observed_at"]).to_pylist()
    assert len({tuple(k.values()) for k in keys}) == len(keys)
    with serving(create_app(engine)) as base:
        assert len(ok(base, f"/api/flights/{recorded[0]}/track")["positions"]) == 5


def test_a_missing_or_damaged_file_is_reported_and_refused(
    engine: Engine, database_url: str, recorded: list[int], archive: Path
) -> None:
    sweep_tables(engine, _retention(archive), now=NOW)
    days = all_archived(engine)
    assert check_files(days, archive) == []
    positions = archive / "flight_positions/day=2024-11-22/flight_positions_2024-11-22.parquet"
    radios = archive / "transceivers/day=2024-11-22/transceivers_2024-11-22.parquet"
    positions.rename(positions.with_suffix(".moved"))
    radios.write_bytes(radios.read_bytes()[:100])

    problems = {p.day.table: p.describe() for p in check_files(days, archive)}

    assert problems == {
        "flight_positions": f"{positions}: missing",
        "transceivers": problems["transceivers"],
    }
    assert problems["transceivers"].startswith(f"{radios}: unreadable (")
    with serving(create_app(engine)) as base:
        response = get(base, f"/api/flights/{recorded[0]}/track")
    assert response.status_code == 503
    missing = f"archive: {positions}: archived flight_positions of 2024-11-22 is missing"
    assert response.json() == {"error": missing}
    assert refused(database_url, "flights", "track", str(recorded[0])) == f"error: {missing}"


def test_a_damaged_page_is_refused_not_read(
    engine: Engine, recorded: list[int], archive: Path
) -> None:
    sweep_tables(engine, _retention(archive), now=NOW)
    positions = archive / "flight_positions/day=2024-11-22/flight_positions_2024-11-22.parquet"
    parquet = pq.ParquetFile(positions)
    latitude = parquet.schema_arrow.get_field_index("latitude")
    chunk = parquet.metadata.row_group(0).column(latitude)
    content = bytearray(positions.read_bytes())
    middle = chunk.data_page_offset + chunk.total_compressed_size // 2
    content[middle] ^= 0xFF
    positions.write_bytes(bytes(content))

    with serving(create_app(engine)) as base:
        response = get(base, f"/api/flights/{recorded[0]}/track")

    assert response.status_code == 503
    assert response.json()["error"].startswith(
        f"archive: {positions}: archived flight_positions of 2024-11-22 cannot be read: "
    )


def test_without_an_archive_folder_days_are_deleted_as_before(
    engine: Engine, recorded: list[int]
) -> None:
    retention = TableRetention(days=dict.fromkeys(PARTITIONED_NAMES, 30), ahead_days=0)

    sweep = sweep_tables(engine, retention, now=NOW)

    assert _counts(engine) == dict.fromkeys(PARTITIONED_NAMES, 0)
    assert sweep.archived == [] and all_archived(engine) == []
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(flights)) > 0
