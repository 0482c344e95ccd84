"""Analytics built from the Dagster instance and the data database.

Plain functions that return JSON-able dicts, so the command line, the HTTP API and the
`pipeline_health` asset serve the same figures.
"""

from vatsim_pipeline.reports.breakers_report import circuit_breakers_report
from vatsim_pipeline.reports.errors_report import errors_report
from vatsim_pipeline.reports.events_report import events_report
from vatsim_pipeline.reports.window import parse_since

__all__ = ["circuit_breakers_report", "errors_report", "events_report", "parse_since"]
