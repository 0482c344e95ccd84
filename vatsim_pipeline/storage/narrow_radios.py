"""A `transceivers` table of an earlier version made as narrow as the schema's, on start.

Two things changed without changing a value (measured in docs/performance.md):

- `ix_transceivers_controller` indexed every row, some 99% of them a pilot radio's NULL;
  `ix_transceivers_controller_linked` (made by `migrate` like any missing index) holds
  the controllers' radios alone, which is all that reads and the FK action ask for;
- `frequency_hz` was BIGINT on PostgreSQL and is INTEGER (SQLite stores both alike): the
  parser takes no frequency above 2**31 - 1 Hz, and should a stored one not fit, the
  ALTER fails and its transaction leaves the table as it was.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from vatsim_pipeline.storage.schema import transceivers

RETIRED_INDEX = "ix_transceivers_controller"


def narrow_transceivers(engine: Engine) -> list[str]:
    """Drop the retired index and narrow `frequency_hz`; what it did, for the log."""
    inspector = inspect(engine)
    if not inspector.has_table(transceivers.name):
        return []
    done = []
    with engine.begin() as connection:
        if RETIRED_INDEX in {index["name"] for index in inspector.get_indexes(transceivers.name)}:
            # On PostgreSQL, dropping the parent's index drops every partition's.
            connection.execute(text(f"DROP INDEX {RETIRED_INDEX}"))
            done.append(f"dropped {RETIRED_INDEX} (a NULL per pilot radio)")
        if engine.dialect.name == "postgresql" and _frequency_type(connection) == "bigint":
            # Rewrites every partition (and its indexes) under an exclusive lock: minutes for
            # weeks of radios, so without the engine's statement timeout.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(
                text("ALTER TABLE transceivers ALTER COLUMN frequency_hz TYPE integer")
            )
            done.append("frequency_hz bigint -> integer")
    return done


def _frequency_type(connection) -> str | None:
    return connection.execute(
        text(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'transceivers' "
            "AND column_name = 'frequency_hz'"
        )
    ).scalar()
