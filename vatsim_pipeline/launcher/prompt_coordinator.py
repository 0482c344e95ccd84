"""`PromptRunCoordinator`: Dagster's queued run coordinator, minus the wait in the queue
for a run the queue would launch at once.

Configured in `dagster.yaml` in place of `QueuedRunCoordinator` (same settings, plus
`launch_at_once_tag`):

    run_coordinator:
      module: vatsim_pipeline.launcher.prompt_coordinator
      class: PromptRunCoordinator
      config:
        dequeue_interval_seconds: 1

The queued coordinator enqueues every run, and its daemon dequeues once per
`dequeue_interval_seconds` (a whole second at least, then waiting in half seconds): a
feed update's ingest run spent 0.5 to 1.5 s in the queue although the ingest slot was
free, a third of the time from update to stored. A run that a sensor requested and that
carries `launch_at_once_tag` (the ingest runs' `vatsim/ingest`) is launched as it is
submitted, by the sensor daemon, when the queue's own rules would launch it on the next
pass: no run waits in the queue (so none is overtaken), fewer than `max_concurrent_runs`
are in progress, and no tag concurrency limit is reached (one ingest run at a time).
Otherwise, and for every other run, it is queued as before: a retry or re-execution
(the daemon that submits it does not wait for a slot, the queue does), and a run
started from the UI (the webserver would launch it itself, with a warm process of its
own).

A run launched at once has no `ENQUEUED` event; its `STARTING` event is when it was
launched, as for a dequeued one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dagster import DagsterRunStatus, Field, RunsFilter
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.run_coordinator.base import SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, SENSOR_NAME_TAG
from dagster._serdes import ConfigurableClassData
from dagster._utils.tags import TagConcurrencyLimitsCounter

LOG = logging.getLogger("dagster.run_coordinator.PromptRunCoordinator")
DEFAULT_TAG = "vatsim/ingest"
# A run in one of these holds a slot; a queued one waits for one.
HOLDING_SLOT = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


class PromptRunCoordinator(QueuedRunCoordinator):
    """Launches a tagged run at submission when a slot is free; queues everything else."""

    def __init__(self, launch_at_once_tag: str = DEFAULT_TAG, **kwargs: Any) -> None:
        self._launch_at_once_tag = launch_at_once_tag
        super().__init__(**kwargs)

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            **QueuedRunCoordinator.config_type(),
            "launch_at_once_tag": Field(
                str,
                is_required=False,
                default_value=DEFAULT_TAG,
                description="Runs with this tag key are launched as they are submitted when "
                "the queue's limits allow it, instead of at the queue's next pass.",
            ),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PromptRunCoordinator:
        settings = dict(config_value)
        tag = settings.pop("launch_at_once_tag", DEFAULT_TAG)
        coordinator = super().from_config_value(inst_data, settings)
        coordinator._launch_at_once_tag = tag
        return coordinator

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if (
            run.status != DagsterRunStatus.NOT_STARTED
            or self._launch_at_once_tag not in run.tags
            or SENSOR_NAME_TAG not in run.tags
            or PARENT_RUN_ID_TAG in run.tags
            or not self._slot_free(run)
        ):
            return super().submit_run(context)
        try:
            self._instance.launch_run(run.run_id, context.workspace)
        except Exception:
            # `launch_run` has failed the run with the error; run retries take it from there.
            LOG.exception("could not launch run %s", run.run_id)
        launched = self._instance.get_run_by_id(run.run_id)
        assert launched is not None
        return launched

    def _slot_free(self, run: DagsterRun) -> bool:
        """Whether the queue's next pass would launch `run`: nothing queued before it, and
        the run and tag limits of the instance's concurrency settings not reached."""
        if self._instance.get_runs_count(RunsFilter(statuses=[DagsterRunStatus.QUEUED])):
            return False
        limits = self._instance.get_concurrency_config().run_queue_config
        if limits is None:
            return False
        in_progress = list(self._instance.get_runs(RunsFilter(statuses=HOLDING_SLOT)))
        if 0 <= limits.max_concurrent_runs <= len(in_progress):
            return False
        counter = TagConcurrencyLimitsCounter(list(limits.tag_concurrency_limits), in_progress)
        return not counter.is_blocked(run)
