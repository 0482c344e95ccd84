"""`migrate` creates what is missing and never harms what is there."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Engine, MetaData, Table, insert, inspect, select

from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.schema import metadata, prefiles
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.support import dump, ingest, parsed


def _columns(engine: Engine) -> dict[str, list[str]]:
    inspector = inspect(engine)
    return {
        name: [column["name"] for column in inspector.get_columns(name)]
        for name in sorted(inspector.get_table_names())
    }


def test_migrating_again_changes_neither_schema_nor_rows(engine: Engine) -> None:
    path = sequence_files()[0]
    ingest(engine, [path])
    schema, before = _columns(engine), dump(engine)

    migrate(engine)
    migrate(engine)

    assert _columns(engine) == schema
    assert set(schema) >= {table.name for table in metadata.sorted_tables}
    assert dump(engine) == before
    assert len(before["flights"]) == len(parsed(path).pilots)


def test_migrate_adds_a_missing_nullable_column_to_an_older_table(database_url: str) -> None:
    """An older `prefiles` without `assigned_transponder` gains it and keeps its rows."""
    older = MetaData()
    seen = datetime(2024, 11, 22, 12, 0, tzinfo=UTC)
    old_prefiles = Table(
        "prefiles",
        older,
        *(
            Column(
                column.name, column.type, primary_key=column.primary_key, nullable=column.nullable
            )
            for column in prefiles.columns
            if column.name != "assigned_transponder"
        ),
    )
    engine = make_engine(database_url)
    try:
        older.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(old_prefiles).values(
                    cid=1, callsign="OLD1", route="DCT", first_seen=seen, last_seen=seen
                )
            )

        migrate(engine)

        assert "assigned_transponder" in _columns(engine)["prefiles"]
        assert set(_columns(engine)) >= {table.name for table in metadata.sorted_tables}
        with engine.connect() as connection:
            [row] = connection.execute(select(prefiles)).mappings()
        assert (row["callsign"], row["route"], row["assigned_transponder"]) == ("OLD1", "DCT", None)
        assert row["first_seen"] == seen
        with engine.begin() as connection:
            connection.execute(
                insert(prefiles).values(
                    cid=2,
                    callsign="NEW2",
                    assigned_transponder="2200",
                    first_seen=seen,
                    last_seen=seen,
                )
            )
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    select(prefiles.c.callsign, prefiles.c.assigned_transponder)
                ).all()
            )
        assert stored == {"OLD1": None, "NEW2": "2200"}
    finally:
        engine.dispose()
