"""The Parquet archive: days of the per-snapshot tables past their retention.

Instead of deleting a day of `flight_positions`, `transceivers` or `sector_assignments`,
table retention (with `VATSIM_ARCHIVE_DIR` set) writes it to one Parquet file per table
and UTC day, verifies the file's row count, records it in `archived_days`, and only then
drops the day from the database. Reads of tracks find archived days there and read them
from the files; the `archive_files_intact` asset check reports any file that is missing
or damaged.

The layout is plain, Hive-style partitioned Parquet that Spark, Trino or DuckDB read as
one table per folder (see `layout`):

    <VATSIM_ARCHIVE_DIR>/flight_positions/day=2024-11-20/flight_positions_2024-11-20.parquet
"""
