"""The `landing_writable` check: can the landing folder take the next payload?

A feed update that cannot be landed is lost for good (the feed moves on 15 s later), so
a failed landing must be as visible as a failed run. The sensor reports this check
(ERROR, red in the UI on `landed_snapshot` and on the Overview) on every update it could
not land, with the classified reason, and a pass once landing works again; the reports
count those failures. Every ingest run probes the folder and reports the result for the
snapshot it stored, as executing the check from the UI does.
"""

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from vatsim_pipeline.defs.resources import LandingResource
from vatsim_pipeline.feed.landing import probe
from vatsim_pipeline.resilience.errors import Classification, classify

LANDING_CHECK = AssetCheckKey(AssetKey("landed_snapshot"), "landing_writable")
LANDING_SERVICE = "landing"


def landing_failure(error: OSError) -> Classification:
    """The classification of an error writing the landing folder (resource, mostly)."""
    return classify(error, service=LANDING_SERVICE)


def _metadata(classification: Classification, where: str, update: str) -> dict[str, str]:
    return {
        "category": classification.category.value,
        "severity": classification.severity.value,
        "service": classification.service,
        "retryable": str(classification.retryable).lower(),
        "message": classification.message,
        "landing_dir": where,
        "update_timestamp": update,
    }


def failed_landing(classification: Classification, where: str, update: str) -> AssetCheckEvaluation:
    """The check's evaluation for an update the sensor could not land."""
    return AssetCheckEvaluation(
        asset_key=LANDING_CHECK.asset_key,
        check_name=LANDING_CHECK.name,
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description=f"cannot land update {update} in {where}: {classification.message}",
        metadata=_metadata(classification, where, update),
    )


def landing_works(where: str) -> AssetCheckEvaluation:
    """The check's evaluation once the sensor lands an update again."""
    return AssetCheckEvaluation(
        asset_key=LANDING_CHECK.asset_key,
        check_name=LANDING_CHECK.name,
        passed=True,
        description=f"landing in {where} works again",
        metadata={"landing_dir": where},
    )


@asset_check(
    asset=LANDING_CHECK.asset_key,
    name=LANDING_CHECK.name,
    description="The landing folder takes a file: written and removed, as a payload would be.",
)
def landing_writable(landing: LandingResource) -> AssetCheckResult:
    return probed_landing(landing)


def probed_landing(landing: LandingResource) -> AssetCheckResult:
    """The check's result now: a file written and removed in the landing folder. Every
    ingest run reports it too, so that a working folder shows green, not "Not Evaluated"."""
    where = str(landing.path())
    try:
        probe(landing.path())
    except OSError as error:
        failed = landing_failure(error)
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=f"cannot write {where}: {failed.message}",
            metadata=_metadata(failed, where, ""),
        )
    return AssetCheckResult(passed=True, description=f"{where} takes files")
