"""Ping a pooled connection before use only when it has been idle for a while.

SQLAlchemy's `pool_pre_ping` runs `SELECT 1` at every checkout: the Dagster daemon checks a
connection out for nearly every read of its loops, and those round trips were a sixth of
its CPU samples on `bench/soak.py` (py-spy). A connection checked back in seconds ago was
alive then; one idle for longer may have been closed by a restarted server or a network
timeout, so only that one is pinged. A dead connection is replaced at checkout
(SQLAlchemy's "pessimistic disconnect handling" with a custom event); a server restarted
within the idle window costs at most one failed statement, after which SQLAlchemy
invalidates the whole pool.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, event, exc

# A connection used this recently is trusted without a ping.
IDLE_BEFORE_PING_S = 5.0
_RETURNED_AT = "vatsim_returned_at"


def ping_when_idle(engine: Engine, idle_s: float = IDLE_BEFORE_PING_S) -> None:
    """Make `engine`'s pool ping a connection idle for more than `idle_s` before use."""

    @event.listens_for(engine, "connect")
    def _opened(_dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) <= idle_s:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:  # the connection is gone: the pool opens another
            raise exc.DisconnectionError(str(error)) from error
