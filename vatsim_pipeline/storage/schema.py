"""The one schema of the data tables (SQLAlchemy Core), for PostgreSQL and SQLite alike.

Natural keys carry identity: a pilot or controller connection is
`(cid, callsign, logon_time)`, never a callsign alone. Surrogate ids exist so that
positions and radios can point at their connection cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect

# SQLite only auto-increments INTEGER PRIMARY KEY, so ids are BIGINT on PostgreSQL only.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out: `timestamptz` on PostgreSQL, ISO text on SQLite.

    SQLite keeps naive text that sorts and compares correctly because it is always UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect):
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # psycopg2 already answers in UTC (the session's time zone); skip the copy then.
        return value if value.tzinfo is UTC else value.astimezone(UTC)


metadata = MetaData()

# The per-snapshot tables: one PostgreSQL partition per UTC day (see `partitions`), so
# that retention drops a day at once. Every key of theirs contains `observed_at`.
PARTITION_BY_DAY = "RANGE (observed_at)"


def _flight_plan_columns() -> list[Column]:
    return [
        Column("flight_rules", Text),
        Column("aircraft", Text),
        Column("aircraft_faa", Text),
        Column("aircraft_short", Text),
        Column("departure", Text),
        Column("arrival", Text),
        Column("alternate", Text),
        Column("cruise_tas", Text),
        Column("planned_altitude", Text),
        Column("deptime", Text),
        Column("enroute_time", Text),
        Column("fuel_time", Text),
        Column("remarks", Text),
        Column("route", Text),
        Column("revision_id", Integer),
        Column("assigned_transponder", Text),
    ]


feed_snapshots = Table(
    "feed_snapshots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("update_timestamp", UTCDateTime, nullable=False, unique=True),
    Column("fetched_at", UTCDateTime),
    Column("stored_at", UTCDateTime, nullable=False),
    Column("status", Text, nullable=False),
    Column("connected_clients", Integer),
    Column("pilots", Integer, nullable=False),
    Column("controllers", Integer, nullable=False),
    Column("atis", Integer, nullable=False),
    Column("prefiles", Integer, nullable=False),
    Column("servers", Integer, nullable=False),
    Column("transceiver_stations", Integer, nullable=False),
    Column("transceivers", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("data_path", Text),
    Column("data_sha256", Text),
    Column("transceivers_path", Text),
    Column("transceivers_sha256", Text),
    # Why the radios of this snapshot are missing (its transceivers feed stayed broken);
    # NULL when they were stored or never asked for (a recorded file alone).
    Column("transceivers_missing", Text),
)

flights = Table(
    "flights",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("cid", Integer, nullable=False),
    Column("callsign", Text, nullable=False),
    Column("logon_time", UTCDateTime, nullable=False),
    Column("name", Text),
    Column("server", Text),
    Column("pilot_rating", Integer),
    Column("military_rating", Integer),
    *_flight_plan_columns(),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("altitude", Integer),
    Column("groundspeed", Integer),
    Column("heading", SmallInteger),
    Column("transponder", Text),
    Column("qnh_i_hg", Float),
    Column("qnh_mb", Integer),
    Column("last_updated", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("ended_at", UTCDateTime),
    UniqueConstraint("cid", "callsign", "logon_time", name="uq_flights_connection"),
    Index("ix_flights_callsign_logon", "callsign", "logon_time"),
    Index("ix_flights_last_seen", "last_seen"),
    # Flights from or to an airport in a window: the airport's flights seen since its
    # start (see `reads_history`); each costs an entry per flight update (measured in
    # docs/performance.md).
    Index("ix_flights_departure_last_seen", "departure", "last_seen"),
    Index("ix_flights_arrival_last_seen", "arrival", "last_seen"),
)

flight_positions = Table(
    "flight_positions",
    metadata,
    Column("flight_id", Id, ForeignKey("flights.id", ondelete="CASCADE"), nullable=False),
    # A row is a run (`position_runs`): the connection held these values in every
    # recorded snapshot from `observed_at` to `last_observed_at` (NULL: that one snapshot,
    # as every row of a table written before runs existed).
    Column("observed_at", UTCDateTime, nullable=False),
    Column("last_observed_at", UTCDateTime),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("altitude", Integer),
    Column("groundspeed", Integer),
    Column("heading", SmallInteger),
    Column("transponder", Text),
    Column("qnh_i_hg", Float),
    Column("qnh_mb", Integer),
    UniqueConstraint("flight_id", "observed_at", name="uq_flight_positions_flight_time"),
    # Retention deletes by time on SQLite; PostgreSQL drops whole day partitions.
    Index("ix_flight_positions_observed_at", "observed_at").ddl_if(dialect="sqlite"),
    # Reads of one snapshot or a time window across flights (the forecast's state every
    # minute, the analytics' track frames) on PostgreSQL: rows arrive in time order, so a
    # BRIN index finds them for kilobytes a day where a B-tree costs some 60 MiB
    # (measured in docs/performance.md).
    Index("ix_flight_positions_observed_at_brin", "observed_at", postgresql_using="brin").ddl_if(
        dialect="postgresql"
    ),
    postgresql_partition_by=PARTITION_BY_DAY,
)

controllers = Table(
    "controllers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("cid", Integer, nullable=False),
    Column("callsign", Text, nullable=False),
    Column("logon_time", UTCDateTime, nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text),
    Column("server", Text),
    Column("frequency", Text),
    Column("frequency_hz", Integer),
    Column("facility", Integer),
    Column("rating", Integer),
    Column("visual_range", Integer),
    Column("atis_code", Text),
    Column("text_atis", Text),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("last_updated", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("ended_at", UTCDateTime),
    UniqueConstraint("cid", "callsign", "logon_time", name="uq_controllers_connection"),
    Index("ix_controllers_callsign_logon", "callsign", "logon_time"),
    Index("ix_controllers_last_seen", "last_seen"),
)

# Radios as runs (see `radio_runs`): one row per radio for each stretch of consecutive
# recorded snapshots in which it was present with the same values, from `observed_at` (the
# run's first snapshot, the partition key) to `last_observed_at`; a run never crosses a UTC
# day, so each lies in one partition. `radio_runs.transceiver_snapshots` expands them to
# the one row per radio per snapshot that the feed said. Columns are ordered widest first
# (no alignment padding on PostgreSQL). Sizes per row are measured in docs/performance.md.
transceivers = Table(
    "transceivers",
    metadata,
    Column("observed_at", UTCDateTime, nullable=False),
    Column("last_observed_at", UTCDateTime, nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("height_msl_m", Float),
    Column("height_agl_m", Float),
    Column("flight_id", Id, ForeignKey("flights.id", ondelete="SET NULL")),
    Column("controller_id", Id, ForeignKey("controllers.id", ondelete="SET NULL")),
    # Exact in 4 bytes: the parser takes no frequency above 2**31 - 1 Hz.
    Column("frequency_hz", Integer, nullable=False),
    Column("transceiver_id", Integer, nullable=False),
    Column("callsign", Text, nullable=False),
    # A radio's runs in time order: the writer finds the run to extend by its key.
    Index("ux_transceivers_run", "callsign", "transceiver_id", "observed_at", unique=True),
    # A flight's radios (flight summaries) and the FK action of a deleted flight.
    Index("ix_transceivers_flight", "flight_id"),
    # Controllers' radios (flight summaries, by controller or all of them) and the FK action
    # of a deleted controller: only their rows, not the pilots' NULLs (some 99% of rows).
    Index(
        "ix_transceivers_controller_linked",
        "controller_id",
        postgresql_where=text("controller_id IS NOT NULL"),
        sqlite_where=text("controller_id IS NOT NULL"),
    ),
    # SQLite: the open runs (ending at the previous snapshot) and retention by day.
    Index("ix_transceivers_last_observed_at", "last_observed_at").ddl_if(dialect="sqlite"),
    Index("ix_transceivers_observed_at", "observed_at").ddl_if(dialect="sqlite"),
    postgresql_partition_by=PARTITION_BY_DAY,
)

prefiles = Table(
    "prefiles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("cid", Integer, nullable=False),
    Column("callsign", Text, nullable=False),
    Column("name", Text),
    *_flight_plan_columns(),
    Column("last_updated", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    UniqueConstraint("cid", "callsign", name="uq_prefiles_plan"),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("update_timestamp", UTCDateTime, nullable=False),
    Column("section", Text, nullable=False),
    Column("record_index", Integer, nullable=False),
    Column("callsign", Text),
    Column("reason", Text, nullable=False),
    Column("record", Text, nullable=False),
    UniqueConstraint(
        "update_timestamp", "section", "record_index", name="uq_rejected_records_record"
    ),
)

sectors = Table(
    "sectors",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("callsign_prefix", Text),
    Column("kind", Text, nullable=False),
    Column("oceanic", Boolean, nullable=False, server_default=false()),
    Column("region", Text),
    Column("division", Text),
    Column("min_lat", Float),
    Column("min_lon", Float),
    Column("max_lat", Float),
    Column("max_lon", Float),
    Column("geometry", Text, nullable=False),
    Column("source", Text),
    Column("updated_at", UTCDateTime),
    # What staffing needs besides the prefixes: a TRACON's position suffix, and the FIR
    # sector ids a UIR covers (comma-separated).
    Column("suffix", Text),
    Column("members", Text),
)

sector_assignments = Table(
    "sector_assignments",
    metadata,
    Column(
        "flight_id",
        Id,
        ForeignKey("flights.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # A row is a run (`assignment_runs`): the flight was located in this sector in every
    # recorded snapshot from `observed_at` to `last_observed_at` (NULL: that one snapshot,
    # as every row of a table written before runs existed).
    Column("observed_at", UTCDateTime, primary_key=True),
    Column("last_observed_at", UTCDateTime),
    # The most specific sector covering the position; null over airspace no sector covers.
    Column("sector_id", Text),
    Index("ix_sector_assignments_observed_at", "observed_at").ddl_if(dialect="sqlite"),
    postgresql_partition_by=PARTITION_BY_DAY,
)

flight_sector_occupancy = Table(
    "flight_sector_occupancy",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("flight_id", Id, ForeignKey("flights.id", ondelete="CASCADE"), nullable=False),
    Column("sector_id", Text, nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    # Null while the flight is still inside (its last position, flight active).
    Column("exited_at", UTCDateTime),
    Column("entry_latitude", Float, nullable=False),
    Column("entry_longitude", Float, nullable=False),
    Column("entry_altitude", Integer),
    Column("exit_latitude", Float),
    Column("exit_longitude", Float),
    Column("exit_altitude", Integer),
    UniqueConstraint(
        "flight_id", "sector_id", "entered_at", name="uq_flight_sector_occupancy_entry"
    ),
    Index("ix_flight_sector_occupancy_sector", "sector_id", "entered_at"),
    # A window overlaps the visits entered before its end and left after its start (or
    # not left): one index per side, the planner takes the narrower.
    Index("ix_flight_sector_occupancy_sector_exit", "sector_id", "exited_at"),
)

controller_sectors = Table(
    "controller_sectors",
    metadata,
    Column(
        "controller_id",
        Id,
        ForeignKey("controllers.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("sector_id", Text, primary_key=True),
    Index("ix_controller_sectors_sector", "sector_id"),
)

flight_summaries = Table(
    "flight_summaries",
    metadata,
    Column(
        "flight_id",
        Id,
        ForeignKey("flights.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("callsign", Text, nullable=False),
    Column("cid", Integer, nullable=False),
    Column("departure", Text),
    Column("arrival", Text),
    Column("aircraft", Text),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("positions", Integer, nullable=False),
    Column("distance_nm", Float, nullable=False),
    Column("max_altitude", Integer),
    # JSON lists: [{sector_id, entered_at, exited_at, seconds}], [{callsign,
    # controller_id, seconds}].
    Column("sectors", Text, nullable=False),
    Column("controllers", Text, nullable=False),
    Index("ix_flight_summaries_ended_at", "ended_at"),
)

maintenance_log = Table(
    "maintenance_log",
    metadata,
    Column("task", Text, primary_key=True),
    Column("ran_at", UTCDateTime, nullable=False),
    Column("rows", Integer, nullable=False),
    # Where the next run resumes (JSON), so that a run reads only what changed.
    Column("cursor", Text),
)

# Tables defined in modules of their own join `metadata` here, so that `migrate` creates
# them. (Imported last: they build on the tables above.)
from vatsim_pipeline.storage import pattern_tables  # noqa: E402, F401
