"""Schedules that skip a tick while their job's previous run has not finished.

A slow maintenance or session run must not pile up queued copies of itself behind it.
"""

from dagster import (
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
)

UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def request_unless_unfinished(
    context: ScheduleEvaluationContext, job_name: str
) -> RunRequest | SkipReason:
    """A run request, or a skip naming the run of `job_name` that is still unfinished."""
    unfinished = context.instance.get_run_records(
        RunsFilter(job_name=job_name, statuses=UNFINISHED), limit=1
    )
    if unfinished:
        return SkipReason(f"run {unfinished[0].dagster_run.run_id} has not finished yet")
    return RunRequest()
