"""The failure hook: classifies a step's final failure and records it on the run.

Dagster calls it once, after the retry policy gave up, so every failed run carries one
classification: as run tags (the UI filters failed runs by category) and as an engine
event with metadata in the run's event log (the reports count them).

The failing service comes from the error: the one `fail_fast_if_unretryable` wrote into
its `Failure`, else the one the taxonomy infers (`resilience.errors`: a SQLAlchemy error
is the database's, a payload error the feed's). A step that talks to one service only
names it in `SERVICE_OF_STEP`, for errors the taxonomy cannot place; the ingest run's
one step talks to the feed, the landing folder and the database, so it names none.
"""

from dagster import HookContext, failure_hook
from dagster._core.events import EngineEventData

from vatsim_pipeline.defs.tags import UPDATE_TIMESTAMP_TAG
from vatsim_pipeline.resilience.errors import classify
from vatsim_pipeline.resilience.run_tags import error_tags

SERVICE_OF_STEP = {
    "session_lifecycle": "database",
    "sectors": "sectors",
}
CLASSIFIED_EVENT = "vatsim failure classified"


@failure_hook(name="classify_failure")
def classify_failure(context: HookContext) -> None:
    exception = context.op_exception
    if exception is None:
        return
    service = None if _names_service(exception) else SERVICE_OF_STEP.get(context.step_key)
    classification = classify(exception, service=service)
    instance = context.instance
    run = instance.get_run_by_id(context.run_id)
    update_timestamp = run.tags.get(UPDATE_TIMESTAMP_TAG, "") if run else ""
    instance.add_run_tags(context.run_id, error_tags(classification))
    if run is not None:
        instance.report_engine_event(
            f"{CLASSIFIED_EVENT}: {classification.category.value} "
            f"({classification.severity.value}) in {classification.service}: "
            f"{classification.message}",
            run,
            EngineEventData(
                metadata={
                    "category": classification.category.value,
                    "severity": classification.severity.value,
                    "service": classification.service,
                    "retryable": classification.retryable,
                    "exception_type": classification.exception_type,
                    "message": classification.message,
                    "update_timestamp": update_timestamp,
                }
            ),
            step_key=context.step_key,
        )
    context.log.error(
        f"{classification.category.value} error ({classification.severity.value}) "
        f"in {classification.service} for snapshot {update_timestamp or '?'}: "
        f"{classification.message}"
    )


def _names_service(exception: BaseException) -> bool:
    """A `Failure` raised by `fail_fast_if_unretryable` already says which service failed."""
    metadata = getattr(exception, "metadata", None) or {}
    return "service" in metadata
