"""The stored forecast of every sector or airport: replaced whole at every refresh.

A refresh's forecast is about 11,000 rows for the sectors and 2,000 for the airports, and
nearly every row changes (the values move with the traffic, `issued_at` with the
snapshot), so each run deletes the kind's rows and writes the new ones, in one
transaction: a reader sees the previous forecast or the new one, never a mix. On
PostgreSQL the rows go in by COPY: an INSERT of that many rows spent about 0.6 s of the
run's CPU building statements and parameters, COPY's CSV a tenth of it; and that CSV
is built column by column (`forecast_lines`: each distinct text and time encoded once,
the numbers by `str` in one pass), a quarter of the CPU of encoding it field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert

from vatsim_pipeline.storage.copy_csv import copy_lines, encode_field
from vatsim_pipeline.storage.pattern_tables import traffic_forecasts

COLUMNS = (
    "target_kind",
    "target_id",
    "metric",
    "bucket_start",
    "expected",
    "low",
    "high",
    "issued_at",
)
INSERT_CHUNK = 5000


def forecast_rows(frame: pd.DataFrame, issued_at: datetime) -> list[tuple]:
    """The table rows of a forecast frame, in `COLUMNS` order (Python values)."""
    return list(
        zip(
            frame["target_kind"].tolist(),
            frame["target_id"].tolist(),
            frame["metric"].tolist(),
            pd.DatetimeIndex(frame["bucket_start"]).to_pydatetime().tolist(),
            frame["expected"].astype(float).tolist(),
            frame["low"].astype(float).tolist(),
            frame["high"].astype(float).tolist(),
            repeat(issued_at),
            strict=False,
        )
    )


def _encoded(values: pd.Series, encode_one: Callable[[Any], str]) -> list[str]:
    """`encode_one` of every value, called once per distinct value."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return np.asarray([encode_one(value) for value in distinct], dtype=object)[codes].tolist()


def forecast_lines(frame: pd.DataFrame, issued_at: datetime) -> list[str]:
    """The COPY CSV lines of a forecast frame: exactly `encode` of `forecast_rows`, one
    line per row."""
    columns = [
        _encoded(frame["target_kind"], encode_field),
        _encoded(frame["target_id"], encode_field),
        _encoded(frame["metric"], encode_field),
        _encoded(frame["bucket_start"], lambda at: str(at.to_pydatetime())),
        *(map(str, frame[name].astype(float).tolist()) for name in ("expected", "low", "high")),
        repeat(f"{issued_at}\n", len(frame)),
    ]
    return list(map(",".join, zip(*columns, strict=True)))


def replace_forecast(
    engine: Engine, target_kind: str, frame: pd.DataFrame, issued_at: datetime
) -> int:
    """Make the stored forecast of every target of `target_kind` exactly `frame` (the
    forecast frame), in one transaction; returns the rows written."""
    with engine.begin() as connection:
        connection.execute(
            delete(traffic_forecasts).where(traffic_forecasts.c.target_kind == target_kind)
        )
        if connection.dialect.name == "postgresql":
            copy_lines(
                connection, traffic_forecasts.name, COLUMNS, forecast_lines(frame, issued_at)
            )
        else:
            rows = forecast_rows(frame, issued_at)
            values = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
            for at in range(0, len(values), INSERT_CHUNK):
                connection.execute(insert(traffic_forecasts), values[at : at + INSERT_CHUNK])
    return len(frame)
