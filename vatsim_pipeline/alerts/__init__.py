"""Alerts: new anomalies of the configured kinds POSTed to a webhook (Discord/Slack-style).

Knows nothing of Dagster: the `anomaly_alerts` sensor of `defs/` calls `deliver_pending`.
"""
