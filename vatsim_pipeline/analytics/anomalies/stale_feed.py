"""A feed whose `update_timestamp` has not moved for `stale_feed_s` (VATSIM updates every 15 s).

The evidence is a fetch: the feed answered at `seen_at` with an update already that old,
either a stored snapshot's `fetched_at`, or the feed sensor's last successful fetch
while the newest update it landed stays the same. A gap between stored snapshots alone is
not evidence (the recorder may have been down), so recorded payloads never raise it.
"""

from __future__ import annotations

from datetime import datetime

from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds


def stale_feed(
    update_timestamp: datetime, seen_at: datetime | None, thresholds: Thresholds
) -> dict | None:
    """The stale values when the feed served `update_timestamp` that late, else None."""
    if seen_at is None:
        return None
    age_s = (seen_at - update_timestamp).total_seconds()
    if age_s < thresholds.stale_feed_s:
        return None
    return {
        "update_timestamp": update_timestamp.isoformat(),
        "seen_at": seen_at.isoformat(),
        "age_s": round(age_s, 3),
    }
