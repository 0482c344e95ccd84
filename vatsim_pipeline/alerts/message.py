"""The JSON an alert carries: a Discord/Slack-compatible `content` line (Slack reads
`text`, so it is there too) and the anomaly's structured record."""

from __future__ import annotations

WHAT = {
    "emergency_squawk": "squawks 7700 (emergency)",
    "radio_failure_squawk": "squawks 7600 (radio failure)",
    "hijack_squawk": "squawks 7500 (hijack)",
    "teleport": "jumped farther than it could fly",
    "frozen": "has not moved while reporting speed",
    "duplicate_callsign": "shares its callsign with another connection",
    "altitude_jump": "changed altitude faster than aircraft climb",
    "stale_feed": "the VATSIM feed has not updated",
}


def _where(trigger: dict) -> str:
    latitude, longitude = trigger.get("latitude"), trigger.get("longitude")
    if latitude is None or longitude is None:
        return ""
    altitude = trigger.get("altitude")
    height = f" at {altitude} ft" if altitude is not None else ""
    return f"{height} ({latitude:.3f}, {longitude:.3f})"


def alert_payload(record: dict) -> dict:
    """The body POSTed for one anomaly record (see `storage.anomaly_reads.as_record`)."""
    kind = record["kind"]
    who = f"{record['callsign']} (cid {record['cid']})" if record.get("callsign") else "VATSIM feed"
    content = f"{kind}: {who} {WHAT.get(kind, kind)}{_where(record['trigger'])} since " + (
        f"{record['started_at']}"
    )
    return {"content": content, "text": content, "anomaly": record}
