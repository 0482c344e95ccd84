"""Keeps Dagster's log lines single after a database outage.

dagster-postgres warns of each failed connection through the *root* logger
(`logging.warning("Retrying failed database connection: ...")`). The root logger has no
handler in the daemon or its code server, so that call runs `logging.basicConfig()` and
gives it one; from then on every line of Dagster's own loggers, which print through
their own handler and also propagate to the root, is printed twice. Giving the root
logger a handler first makes `basicConfig` a no-op. That handler prints what Python's
last-resort handler would (warnings and errors) for every logger except Dagster's, which
print for themselves. The warm run launcher (loaded by the daemon from `dagster.yaml`)
and `definitions` (loaded by code servers, and the zygote whose workers run the runs)
call it.
"""

import logging
import sys


class _OutsideDagster(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "dagster" or record.name.startswith("dagster."))


def keep_root_logger_quiet() -> None:
    """Give the root logger a stderr handler for non-Dagster warnings, once."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.addFilter(_OutsideDagster())
    root.addHandler(handler)
