"""The archive check: every day recorded in `archived_days` has its Parquet file, whole.

It runs after each maintenance pass (the `maintenance` asset's job), reading only each
file's footer. A missing, unreadable or short file fails it with ERROR severity, naming
the files: an archived day is the only copy left, so a lost one must be seen, not
skipped by the reads.
"""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from vatsim_pipeline.archive.layout import archive_dir_from_env
from vatsim_pipeline.archive.reader import check_files
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.storage.archive_log import all_archived

EXAMPLES = 10


@asset_check(
    asset="maintenance",
    description="Every archived day of flight_positions, transceivers and sector_assignments "
    "has its Parquet file under VATSIM_ARCHIVE_DIR with the rows recorded when it was written.",
)
def archive_files_intact(database: DatabaseResource) -> AssetCheckResult:
    days = all_archived(database.engine())
    archive_dir = archive_dir_from_env()
    problems = check_files(days, archive_dir)
    described = [problem.describe() for problem in problems]
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"{len(days)} archived day file(s), all present and whole"
            if not problems
            else f"{len(problems)} of {len(days)} archived day file(s) missing or damaged: "
            + "; ".join(described[:EXAMPLES])
        ),
        metadata={
            "archived_days": len(days),
            "archived_rows": sum(day.rows for day in days),
            "archive_bytes": sum(day.bytes for day in days),
            "problems": len(problems),
            "problem_files": MetadataValue.text("\n".join(described)),
        },
    )


ARCHIVE_CHECKS = [archive_files_intact]
