"""Retention of the per-snapshot tables (maintenance/table_retention.py) on real stored
snapshots spread over several days, on SQLite and PostgreSQL with the same expectations:
whole UTC days before `now - days` go, nothing else does."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, literal, select, text

from vatsim_pipeline.maintenance.table_retention import (
    RetentionSettingError,
    TableRetention,
    sweep_tables,
)
from vatsim_pipeline.storage.partitions import PARTITIONED, PARTITIONED_NAMES, list_partitions
from vatsim_pipeline.storage.schema import (
    flight_positions,
    flight_summaries,
    flights,
    sector_assignments,
)
from vatsim_pipeline_tests.backends import POSTGRESQL_ONLY, SQLITE_ONLY
from vatsim_pipeline_tests.maintenance import KEEP
from vatsim_pipeline_tests.storage.test_partitions import store_cut_snapshot

MOMENTS = (
    datetime(2024, 11, 17, 12, 0, 0, tzinfo=UTC),
    datetime(2024, 11, 18, 8, 30, 0, tzinfo=UTC),
    datetime(2024, 11, 19, 0, 0, 0, tzinfo=UTC),
    datetime(2024, 11, 19, 23, 59, 59, 900000, tzinfo=UTC),
    datetime(2024, 11, 20, 0, 0, 0, tzinfo=UTC),
    datetime(2024, 11, 21, 6, 15, 0, tzinfo=UTC),
)
NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)
DAYS = [date(2024, 11, day) for day in (17, 18, 19, 20, 21)]


def per_day(engine: Engine) -> dict[str, Counter]:
    """Rows of each partitioned table by UTC day of `observed_at`."""
    with engine.connect() as connection:
        return {
            table.name: Counter(
                moment.date()
                for moment in connection.execute(select(table.c.observed_at)).scalars()
            )
            for table in PARTITIONED
        }


@pytest.fixture
def history(engine: Engine) -> dict[str, Counter]:
    """Six stored snapshots over five days, every position assigned a sector."""
    for moment in MOMENTS:
        store_cut_snapshot(engine, moment)
    with engine.begin() as connection:
        connection.execute(
            sector_assignments.insert().from_select(
                ["flight_id", "observed_at", "sector_id"],
                select(
                    flight_positions.c.flight_id, flight_positions.c.observed_at, literal("EDGG")
                ),
            )
        )
    counts = per_day(engine)
    pilots = KEEP["pilots"]
    assert counts["flight_positions"] == Counter(
        {day: 2 * pilots if day == date(2024, 11, 19) else pilots for day in DAYS}
    )
    assert counts["sector_assignments"] == counts["flight_positions"]
    assert set(counts["transceivers"]) == set(DAYS)
    return counts


def _retention(batch: int = 10_000, **days: int | None) -> TableRetention:
    return TableRetention(
        days={name: days.get(name, 30) for name in PARTITIONED_NAMES}, ahead_days=1, batch=batch
    )


def _kept(counts: Counter, first_kept: date) -> Counter:
    return Counter({day: n for day, n in counts.items() if day >= first_kept})


def test_whole_days_before_now_minus_days_go_per_table(engine: Engine, history) -> None:
    retention = _retention(flight_positions=1, transceivers=2, sector_assignments=None)

    sweep = sweep_tables(engine, retention, now=NOW)

    after = per_day(engine)
    # now - 1 day = 11-20 09:00: 11-17 .. 11-19 go, 11-20 00:00:00 stays.
    assert after["flight_positions"] == _kept(history["flight_positions"], date(2024, 11, 20))
    assert after["transceivers"] == _kept(history["transceivers"], date(2024, 11, 19))
    assert after["sector_assignments"] == history["sector_assignments"]
    removed = {
        name: sum(history[name].values()) - sum(after[name].values()) for name in PARTITIONED_NAMES
    }
    assert {name: sweep.tables[name].rows for name in PARTITIONED_NAMES} == removed
    assert sweep.rows == removed["flight_positions"] + removed["transceivers"] > 0
    assert sweep.tables["flight_positions"].cutoff == datetime(2024, 11, 20, tzinfo=UTC)
    assert sweep.tables["sector_assignments"].cutoff is None
    with engine.connect() as connection:
        assert connection.execute(select(flights.c.id)).first() is not None
    assert sweep.describe().startswith(
        f"removed {sweep.rows:,} row(s) (flight_positions {removed['flight_positions']:,}, "
        f"transceivers {removed['transceivers']:,})"
    )
    assert sweep.describe().endswith("; kept whole: sector_assignments")


def test_a_dry_run_reports_the_same_and_changes_nothing(engine: Engine, history) -> None:
    retention = _retention(flight_positions=1, transceivers=1, sector_assignments=1)
    partitions = list_partitions(engine)

    preview = sweep_tables(engine, retention, now=NOW, dry_run=True)

    assert per_day(engine) == history
    assert list_partitions(engine) == partitions
    done = sweep_tables(engine, retention, now=NOW)
    assert done.rows > 0

    def removed(sweep) -> dict:
        return {n: (t.rows, t.bytes, t.partitions) for n, t in sweep.tables.items()}

    assert removed(preview) == removed(done)
    assert preview.created == done.created
    assert preview.describe().startswith("would remove ")


def test_keep_keeps_everything(engine: Engine, history) -> None:
    retention = TableRetention.from_env({"VATSIM_TABLE_RETENTION_DAYS": "keep"})

    sweep = sweep_tables(engine, retention, now=NOW)

    assert per_day(engine) == history
    assert (sweep.rows, sweep.partitions) == (0, [])
    assert sweep.describe().endswith(
        "; kept whole: flight_positions, transceivers, sector_assignments"
    )


@SQLITE_ONLY
def test_sqlite_deletes_in_batches(engine: Engine, history) -> None:

    sweep = sweep_tables(engine, _retention(batch=5, flight_positions=0), now=NOW)

    removed = sum(history["flight_positions"].values()) - history["flight_positions"][NOW.date()]
    positions = sweep.tables["flight_positions"]
    assert positions.rows == removed > 10
    assert positions.batches == math.ceil(removed / 5)
    assert (sweep.bytes, sweep.created) == (0, [])


@POSTGRESQL_ONLY
def test_postgresql_drops_day_partitions_and_creates_ahead(engine: Engine, history) -> None:
    sizes = {p.name: p.bytes for p in list_partitions(engine)}

    sweep = sweep_tables(engine, _retention(flight_positions=1, transceivers=3), now=NOW)

    names = {p.name for p in list_partitions(engine)}
    gone = [
        "flight_positions_p20241117",
        "flight_positions_p20241118",
        "flight_positions_p20241119",
    ]
    assert sweep.partitions == [*gone, "transceivers_p20241117"]
    assert not names & set(sweep.partitions)
    assert {"flight_positions_p20241120", "transceivers_p20241118"} <= names
    assert sweep.bytes == sum(sizes[name] for name in sweep.partitions) > 0
    assert sweep.created == [f"{table}_p20241122" for table in PARTITIONED_NAMES]
    assert sweep.deferred == []
    again = sweep_tables(engine, _retention(flight_positions=1, transceivers=3), now=NOW)
    assert (again.rows, again.partitions, again.created) == (0, [], [])


@POSTGRESQL_ONLY
def test_postgresql_defers_a_drop_while_a_reader_holds_the_table(engine: Engine, history) -> None:
    retention = TableRetention(
        days=dict.fromkeys(PARTITIONED_NAMES, 1), ahead_days=0, lock_timeout_ms=100
    )
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM flight_positions"))

        blocked = sweep_tables(engine, retention, now=NOW)

    assert blocked.deferred == [f"flight_positions_p202411{day}" for day in (17, 18, 19)]
    assert blocked.tables["flight_positions"].rows == 0
    assert blocked.tables["transceivers"].partitions
    assert "3 drop(s) deferred (lock timeout): flight_positions_p20241117" in blocked.describe()
    retried = sweep_tables(engine, retention, now=NOW)
    assert retried.partitions == blocked.deferred
    assert per_day(engine)["flight_positions"] == _kept(
        history["flight_positions"], date(2024, 11, 20)
    )


def test_summaries_and_sessions_are_kept(engine: Engine, history) -> None:
    with engine.connect() as connection:
        before = [connection.execute(select(t)).all() for t in (flights, flight_summaries)]

    sweep_tables(engine, _retention(flight_positions=0, transceivers=0, sector_assignments=0))

    with engine.connect() as connection:
        assert [connection.execute(select(t)).all() for t in (flights, flight_summaries)] == before
    assert sum(per_day(engine)["flight_positions"].values()) == 0


def test_settings_from_the_environment() -> None:
    assert TableRetention.from_env({}) == TableRetention()
    assert TableRetention().days == dict.fromkeys(PARTITIONED_NAMES, 30)
    assert TableRetention().ahead_days == 3
    retention = TableRetention.from_env(
        {
            "VATSIM_TABLE_RETENTION_DAYS": "14",
            "VATSIM_RETENTION_DAYS_TRANSCEIVERS": "2",
            "VATSIM_RETENTION_DAYS_SECTOR_ASSIGNMENTS": "KEEP",
            "VATSIM_PARTITIONS_AHEAD_DAYS": "7",
        }
    )
    assert retention.days == {
        "flight_positions": 14,
        "transceivers": 2,
        "sector_assignments": None,
    }
    assert retention.ahead_days == 7


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "VATSIM_RETENTION_DAYS_TRANSCEIVERS",
            "two",
            "VATSIM_RETENTION_DAYS_TRANSCEIVERS='two': expected a whole number of days >= 0 "
            "or 'keep'",
        ),
        (
            "VATSIM_TABLE_RETENTION_DAYS",
            "-3",
            "VATSIM_TABLE_RETENTION_DAYS='-3': expected a whole number of days >= 0 or 'keep'",
        ),
        (
            "VATSIM_PARTITIONS_AHEAD_DAYS",
            "keep",
            "VATSIM_PARTITIONS_AHEAD_DAYS='keep': expected a whole number of days >= 0",
        ),
    ],
)
def test_a_bad_setting_names_the_variable_and_the_value(variable, value, message) -> None:
    with pytest.raises(RetentionSettingError) as raised:
        TableRetention.from_env({variable: value})
    assert str(raised.value) == message
