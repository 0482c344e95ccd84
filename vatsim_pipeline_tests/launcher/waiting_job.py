"""A job that waits as long as its config says: runs to launch, finish and cancel."""

import time

from dagster import OpExecutionContext, in_process_executor, job, op


@op(config_schema={"seconds": float})
def wait(context: OpExecutionContext) -> float:
    time.sleep(context.op_config["seconds"])
    return context.op_config["seconds"]


@job(executor_def=in_process_executor)
def waiting_job() -> None:
    wait()
