"""Run tag names: how the UI, the sensor and the reports find runs and their errors."""

from vatsim_pipeline.resilience.run_tags import (
    ERROR_CATEGORY_TAG,
    ERROR_MESSAGE_TAG,
    ERROR_RETRYABLE_TAG,
    ERROR_SERVICE_TAG,
    ERROR_SEVERITY_TAG,
)

__all__ = [
    "ERROR_CATEGORY_TAG",
    "ERROR_MESSAGE_TAG",
    "ERROR_RETRYABLE_TAG",
    "ERROR_SERVICE_TAG",
    "ERROR_SEVERITY_TAG",
    "INGEST_TAG",
    "REPLAY_OF_TAG",
    "SOURCE_TAG",
    "UPDATE_TIMESTAMP_TAG",
]

INGEST_TAG = "vatsim/ingest"
UPDATE_TIMESTAMP_TAG = "vatsim/update_timestamp"
SOURCE_TAG = "vatsim/source"
REPLAY_OF_TAG = "vatsim/replay_of"
