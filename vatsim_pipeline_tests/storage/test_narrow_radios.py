"""The radios' table is narrow (a partial controller index, a 4-byte frequency) in a new
database and in one made by an earlier version once `migrate` ran, with every value
kept; a controller deleted by hand still unlinks its radios."""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, inspect, select, text

from vatsim_pipeline.feed.landing import read_payload
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.storage.engine import migrate
from vatsim_pipeline.storage.narrow_radios import RETIRED_INDEX
from vatsim_pipeline.storage.schema import controllers, transceivers
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data
from vatsim_pipeline_tests.storage.support import dump

LINKED = "ix_transceivers_controller_linked"


def _store_with_radios(engine: Engine) -> None:
    """A real snapshot and the real radios feed: pilots' radios and controllers'."""
    snapshot = parse_data_feed(read_payload(sequence_files()[0]))
    parse_transceivers(shared_data(TRANSCEIVERS_FEED).read_bytes(), snapshot)
    write_snapshot(engine, snapshot)


def _index_sql(engine: Engine) -> dict[str, str]:
    """The radios' indexes by name, with their definitions."""
    if engine.dialect.name == "sqlite":
        statement = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'transceivers' AND sql IS NOT NULL"
        )
    else:
        statement = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'transceivers'"
    with engine.connect() as connection:
        return {name: sql for name, sql in connection.execute(text(statement))}


def _frequency_type(engine: Engine) -> str:
    columns = inspect(engine).get_columns(transceivers.name)
    return str(next(c["type"] for c in columns if c["name"] == "frequency_hz"))


def _make_older(engine: Engine) -> None:
    """The table as the previous version made it: every row in the controller index,
    frequencies in 8 bytes on PostgreSQL."""
    with engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {LINKED}"))
        connection.execute(text(f"CREATE INDEX {RETIRED_INDEX} ON transceivers (controller_id)"))
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE transceivers ALTER COLUMN frequency_hz TYPE bigint")
            )


def test_a_new_table_indexes_only_the_controllers_radios(engine: Engine) -> None:
    indexes = _index_sql(engine)

    assert RETIRED_INDEX not in indexes
    assert "controller_id IS NOT NULL" in indexes[LINKED]
    assert "WHERE" not in indexes["ix_transceivers_flight"]
    assert _frequency_type(engine) == "INTEGER"


def test_migrate_narrows_an_older_table_and_keeps_every_value(engine: Engine) -> None:
    _store_with_radios(engine)
    _make_older(engine)
    before = dump(engine)
    assert RETIRED_INDEX in _index_sql(engine)
    assert _frequency_type(engine) == (
        "BIGINT" if engine.dialect.name == "postgresql" else "INTEGER"
    )

    migrate(engine)
    migrate(engine)

    indexes = _index_sql(engine)
    assert RETIRED_INDEX not in indexes
    assert "controller_id IS NOT NULL" in indexes[LINKED]
    assert _frequency_type(engine) == "INTEGER"
    assert dump(engine) == before
    assert len(before["transceivers"]) > 0


def test_deleting_a_controller_unlinks_only_its_radios(engine: Engine) -> None:
    _store_with_radios(engine)
    linked = transceivers.c.controller_id.is_not(None)
    with engine.begin() as connection:
        count = select(func.count()).select_from(transceivers)
        total = connection.execute(count).scalar_one()
        before = connection.execute(count.where(linked)).scalar_one()
        doomed = connection.execute(select(func.min(transceivers.c.controller_id))).scalar_one()
        own = connection.execute(count.where(transceivers.c.controller_id == doomed)).scalar_one()
        connection.execute(delete(controllers).where(controllers.c.id == doomed))

        assert connection.execute(count).scalar_one() == total
        assert connection.execute(count.where(linked)).scalar_one() == before - own
    assert own > 0
