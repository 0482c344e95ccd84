"""The forecasts' storage, on both databases: the stored forecast holds exactly the
frame's values (PostgreSQL writes them by COPY, SQLite by INSERT), one kind is replaced
without touching the other, a write that fails leaves the previous forecast whole; the
history reads answer exactly the rows of the bucket starts asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from vatsim_pipeline.analytics.forecast_frame import FORECAST_COLUMNS
from vatsim_pipeline.storage.copy_csv import encode
from vatsim_pipeline.storage.forecast_writes import forecast_lines, forecast_rows, replace_forecast
from vatsim_pipeline.storage.pattern_tables import traffic_forecasts
from vatsim_pipeline.storage.reads_airport_forecast import stored_airport_traffic
from vatsim_pipeline.storage.reads_forecast import stored_load
from vatsim_pipeline.storage.sector_patterns import write_load
from vatsim_pipeline.storage.traffic_schema import airport_traffic

ISSUED = datetime(2026, 3, 6, 12, 0, 45, 123456, tzinfo=UTC)
START = datetime(2026, 3, 6, 12, 15, tzinfo=UTC)
# Values whose text forms are easy to get wrong: not exactly representable, tiny, huge.
AWKWARD = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, 0.0, 12.5, 2.0**-20, 7e-5]


def forecast(kind: str, targets: list[str], shift: float = 0.0) -> pd.DataFrame:
    rows = [
        (
            kind,
            target,
            "entries",
            START + timedelta(minutes=15 * k),
            AWKWARD[k] + shift,
            AWKWARD[k] / 3,
            AWKWARD[k] * 2,
        )
        for target in targets
        for k in range(8)
    ]
    frame = pd.DataFrame(rows, columns=FORECAST_COLUMNS)
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    return frame


def stored(engine: Engine, kind: str) -> list[tuple]:
    t = traffic_forecasts.c
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(t.target_kind, t.target_id, t.metric, t.bucket_start, t.expected, t.low,
                       t.high, t.issued_at)
                .where(t.target_kind == kind)
                .order_by(t.target_id, t.bucket_start)
            )
        ]  # fmt: skip


def expected(frame: pd.DataFrame, issued_at: datetime) -> list[tuple]:
    return sorted(
        (r.target_kind, r.target_id, r.metric, r.bucket_start.to_pydatetime(), r.expected,
         r.low, r.high, issued_at)
        for r in frame.itertuples(index=False)
    )  # fmt: skip


def test_the_stored_rows_are_exactly_the_frame(engine: Engine) -> None:
    # Quotes, commas, a newline and a backslash in ids: COPY's CSV must keep them as data.
    targets = ["EDGG", "TRACON:A80:ATL", 'a,"b"', "line\nbreak", "back\\slash", r"\N"]
    sectors = forecast("sector", targets)
    airports = forecast("airport", ["EDDF", "KATL"], shift=1.0)
    assert replace_forecast(engine, "sector", sectors, ISSUED) == 48
    assert replace_forecast(engine, "airport", airports, ISSUED) == 16
    assert stored(engine, "sector") == expected(sectors, ISSUED)

    # The next minute replaces the sectors' rows, to fewer targets; the airports' stay.
    later = ISSUED + timedelta(minutes=1)
    fewer = forecast("sector", ["EDGG"], shift=0.5)
    assert replace_forecast(engine, "sector", fewer, later) == 8
    assert stored(engine, "sector") == expected(fewer, later)
    assert stored(engine, "airport") == expected(airports, ISSUED)

    assert replace_forecast(engine, "sector", forecast("sector", []), later) == 0
    assert stored(engine, "sector") == []


def test_the_copy_lines_built_by_column_are_the_rows_encoded() -> None:
    targets = ["EDGG", 'a,"b"', "line\nbreak", "back\\slash", r"\N", "", "EDGG"]
    frame = pd.concat(
        [forecast("sector", targets), forecast("airport", ["EDDF"], 0.5)], ignore_index=True
    )
    frame.loc[frame.index[:3], "expected"] = [float("nan"), -0.0, 1e22]
    lines = forecast_lines(frame, ISSUED)
    assert len(lines) == len(frame) == 64
    assert "".join(lines) == encode(forecast_rows(frame, ISSUED))
    assert lines[8] == '"sector","a,""b""","entries",2026-03-06 12:15:00+00:00,' + (
        f"{AWKWARD[0]},{AWKWARD[0] / 3},{AWKWARD[0] * 2},2026-03-06 12:00:45.123456+00:00\n"
    )
    assert forecast_lines(frame.iloc[0:0], ISSUED) == []


def test_a_failed_write_leaves_the_previous_forecast(engine: Engine) -> None:
    first = forecast("sector", ["EDGG", "EDWW"])
    replace_forecast(engine, "sector", first, ISSUED)
    # The same target twice: the primary key refuses the second copy, after the delete
    # and part of the rows went in, inside the transaction.
    broken = pd.concat([forecast("sector", ["EDMM", "EDGG"]), forecast("sector", ["EDGG"])])
    with pytest.raises(IntegrityError):
        replace_forecast(engine, "sector", broken, ISSUED + timedelta(minutes=1))
    assert stored(engine, "sector") == expected(first, ISSUED)


def test_the_history_reads_answer_the_rows_of_the_starts_asked(engine: Engine) -> None:
    quarters = [START + timedelta(minutes=15 * k) for k in range(4)]
    load = pd.DataFrame(
        [(sector, at, entries, entries + 1, entries / 2)
         for entries, (sector, at) in enumerate((s, q) for q in quarters for s in ("F", "T1"))],
        columns=["sector_id", "bucket_start", "entries", "peak", "mean"],
    )  # fmt: skip
    load["bucket_start"] = pd.to_datetime(load["bucket_start"], utc=True)
    write_load(engine, quarters[0], quarters[-1] + timedelta(minutes=15), load)
    with engine.begin() as connection:
        connection.execute(
            insert(airport_traffic),
            [{"airport": "EDDF", "bucket_start": q, "departures": k, "arrivals": 2 * k}
             for k, q in enumerate(quarters)],
        )  # fmt: skip

    asked = [quarters[3], quarters[1], START - timedelta(days=7)]  # the last one is empty
    with engine.connect() as connection:
        sectors = stored_load(connection, asked)
        airports = stored_airport_traffic(connection, asked)
        nothing = stored_load(connection, [START - timedelta(days=7)])
    assert list(sectors.columns) == ["sector_id", "bucket_start", "entries"]
    assert str(sectors["bucket_start"].dtype) == "datetime64[ns, UTC]"
    assert sorted(sectors.itertuples(index=False, name=None)) == [
        ("F", pd.Timestamp(quarters[1]), 2),
        ("F", pd.Timestamp(quarters[3]), 6),
        ("T1", pd.Timestamp(quarters[1]), 3),
        ("T1", pd.Timestamp(quarters[3]), 7),
    ]
    assert list(airports.columns) == ["airport", "bucket_start", "departures", "arrivals"]
    assert sorted(airports.itertuples(index=False, name=None)) == [
        ("EDDF", pd.Timestamp(quarters[1]), 1, 2),
        ("EDDF", pd.Timestamp(quarters[3]), 3, 6),
    ]
    assert nothing.empty and list(nothing.columns) == ["sector_id", "bucket_start", "entries"]
