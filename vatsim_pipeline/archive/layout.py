"""Where archived days live, and the Parquet schema of each archived table.

`<archive>/<table>/day=YYYY-MM-DD/<table>_YYYY-MM-DD.parquet`: one file per table and
UTC day, in a Hive-style `day=` folder so that Spark, Trino and DuckDB
(`read_parquet('<archive>/flight_positions/*/*.parquet', hive_partitioning = true)`) see a
`day` column and skip the days a query does not need. Rows are sorted by connection, then
time, and written with zstd in row groups of `ROW_GROUP_ROWS` rows, with min/max
statistics on the sort keys and `observed_at` (`STATISTICS`), so that one flight's rows of
a day sit in one or two row groups that the reader finds by their statistics, and a
moment of the day reads only the groups whose time range holds it. Smaller groups read
faster (8,192 rows: a track reads half the rows of 16,384) but each adds its metadata to
the footer that every reader parses; statistics on the other columns would only grow it.

Types are the narrowest that hold every value exactly: times as microseconds since the
epoch in UTC (`timestamp[us, UTC]`), coordinates as float64 (as stored), altitudes and
speeds as int32, headings as int16.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pyarrow as pa

ARCHIVE_VARIABLE = "VATSIM_ARCHIVE_DIR"
ROW_GROUP_ROWS = 8_192
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 9
TIME = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "flight_positions": pa.schema(
        [
            ("flight_id", pa.int64()),
            ("observed_at", TIME),
            # A run of snapshots with this position (see storage/position_runs.py).
            ("last_observed_at", TIME),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
            ("altitude", pa.int32()),
            ("groundspeed", pa.int32()),
            ("heading", pa.int16()),
            ("transponder", pa.string()),
            ("qnh_i_hg", pa.float64()),
            ("qnh_mb", pa.int32()),
        ]
    ),
    # Runs of unchanged radios, as stored (see `storage.radio_runs`).
    "transceivers": pa.schema(
        [
            ("observed_at", TIME),
            ("last_observed_at", TIME),
            ("callsign", pa.string()),
            ("transceiver_id", pa.int32()),
            ("frequency_hz", pa.int64()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
            ("height_msl_m", pa.float64()),
            ("height_agl_m", pa.float64()),
            ("flight_id", pa.int64()),
            ("controller_id", pa.int64()),
        ]
    ),
    "sector_assignments": pa.schema(
        [
            ("flight_id", pa.int64()),
            ("observed_at", TIME),
            # A run of snapshots in this sector (see storage/assignment_runs.py); null in
            # files written before runs: one snapshot.
            ("last_observed_at", TIME),
            ("sector_id", pa.string()),
        ]
    ),
}
# Connection first, then time: a flight's (or a station's) rows of a day lie together.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "flight_positions": ("flight_id", "observed_at"),
    "transceivers": ("callsign", "transceiver_id", "observed_at"),
    "sector_assignments": ("flight_id", "observed_at"),
}
# The table's unique key: what makes two rows the same row.
KEYS: dict[str, tuple[str, ...]] = {
    "flight_positions": ("flight_id", "observed_at"),
    "transceivers": ("observed_at", "callsign", "transceiver_id"),
    "sector_assignments": ("flight_id", "observed_at"),
}
# Columns with min/max statistics: what readers skip row groups by.
STATISTICS = ("flight_id", "observed_at", "callsign", "transceiver_id")
# Float columns stored with byte-stream-split encoding: neighbouring positions share
# their high bytes, which zstd then packs far better than interleaved doubles.
SPLIT_FLOATS = ("latitude", "longitude", "qnh_i_hg", "height_msl_m", "height_agl_m")


class ArchiveSettingError(ValueError):
    """`VATSIM_ARCHIVE_DIR` names something that cannot hold the archive."""


def archive_dir_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """`VATSIM_ARCHIVE_DIR` as an absolute path; None when unset (days are deleted)."""
    env = os.environ if env is None else env
    value = (env.get(ARCHIVE_VARIABLE) or "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ArchiveSettingError(f"{ARCHIVE_VARIABLE}={value}: is not a folder")
    return path


def relative_path(table: str, day: date) -> str:
    """`flight_positions/day=2024-11-20/flight_positions_2024-11-20.parquet`."""
    return f"{table}/day={day.isoformat()}/{table}_{day.isoformat()}.parquet"
