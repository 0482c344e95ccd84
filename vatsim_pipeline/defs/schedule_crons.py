"""The schedules' crons that a deployment may set, read from the environment and refused
in one line naming the variable when malformed.

Dagster's own error for a malformed cron names the schedule, not the variable, and comes
as a traceback of the code location's load; `vatsim-pipeline init` (which `make run`,
`make demo` and a service run first) checks them all, so a malformed one stops the start
with the variable's name.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dagster._utils.schedules import is_valid_cron_string


class CronSettingError(ValueError):
    """A cron setting that Dagster would refuse: `<VARIABLE>: <reason>`."""


@dataclass(frozen=True)
class CronSetting:
    """A schedule's cron: its variable and the cron used when the variable is unset."""

    variable: str
    default: str

    def read(self, env: Mapping[str, str] | None = None) -> str:
        """The variable's cron, else the default; `CronSettingError` if malformed."""
        value = (os.environ if env is None else env).get(self.variable) or self.default
        if not is_valid_cron_string(value):
            raise CronSettingError(
                f"{self.variable}: {value!r} is not a cron expression of 5 fields "
                f"(minute hour day month weekday, UTC), e.g. {self.default!r}"
            )
        return value


FORECAST_CRON = CronSetting("VATSIM_FORECAST_CRON", "*/5 * * * *")
MAINTENANCE_CRON = CronSetting("VATSIM_MAINTENANCE_CRON", "17 * * * *")
SCHEDULE_CRONS = (FORECAST_CRON, MAINTENANCE_CRON)


def check_schedule_crons(env: Mapping[str, str] | None = None) -> None:
    """Raise `CronSettingError` for the first malformed schedule cron."""
    for setting in SCHEDULE_CRONS:
        setting.read(env)
