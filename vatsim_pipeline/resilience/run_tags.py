"""The run tags that carry a failure's classification, shared by whoever classifies a
failed run: the failure hook (a step failed) and the warm run launcher (its worker died)."""

from vatsim_pipeline.resilience.errors import Classification

ERROR_CATEGORY_TAG = "vatsim/error_category"
ERROR_SEVERITY_TAG = "vatsim/error_severity"
ERROR_SERVICE_TAG = "vatsim/error_service"
ERROR_RETRYABLE_TAG = "vatsim/error_retryable"
ERROR_MESSAGE_TAG = "vatsim/error"
MAX_TAG_MESSAGE = 200


def error_tags(classification: Classification) -> dict[str, str]:
    """The run tags that carry a classification."""
    return {
        ERROR_CATEGORY_TAG: classification.category.value,
        ERROR_SEVERITY_TAG: classification.severity.value,
        ERROR_SERVICE_TAG: classification.service,
        ERROR_RETRYABLE_TAG: str(classification.retryable).lower(),
        ERROR_MESSAGE_TAG: classification.message[:MAX_TAG_MESSAGE],
    }
