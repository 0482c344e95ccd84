"""Column schemas of the table assets, read from the SQLAlchemy tables in `schema.py`, so
that the Dagster UI shows the columns, types, keys and references the database really has
and cannot drift from them."""

from dagster import (
    TableColumn,
    TableColumnConstraints,
    TableConstraints,
    TableSchema,
)
from sqlalchemy import Column, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql

from vatsim_pipeline.storage.schema import metadata

# Types are shown as PostgreSQL, the production database, spells them.
DIALECT = postgresql.dialect()


def _column(column: Column, single_unique: set[str]) -> TableColumn:
    other = [f"references {fk.target_fullname}" for fk in column.foreign_keys]
    if column.primary_key:
        other.insert(0, "primary key")
    return TableColumn(
        name=column.name,
        type=column.type.compile(dialect=DIALECT).lower(),
        description=column.comment,
        constraints=TableColumnConstraints(
            nullable=bool(column.nullable) and not column.primary_key,
            unique=column.name in single_unique,
            other=other,
        ),
    )


def table_schema(table: Table) -> TableSchema:
    """The Dagster schema of one table: columns, then keys spanning several columns."""
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    primary = [c.name for c in table.primary_key.columns]
    single = {c.columns[0].name for c in uniques if len(c.columns) == 1}
    if len(primary) == 1:
        single.add(primary[0])
    single.update(c.name for c in table.columns if c.unique)
    composite = [f"primary key ({', '.join(primary)})"] if len(primary) > 1 else []
    composite += [
        f"unique ({', '.join(c.name for c in u.columns)})" for u in uniques if len(u.columns) > 1
    ]
    return TableSchema(
        columns=[_column(column, single) for column in table.columns],
        constraints=TableConstraints(other=composite),
    )


def table_metadata(table_name: str) -> dict[str, object]:
    """Asset metadata naming the table and describing its columns; a `KeyError` for a
    table the schema does not have."""
    table = metadata.tables[table_name]
    return {"dagster/table_name": table.name, "dagster/column_schema": table_schema(table)}
