"""No false alarms on real data: every recorded sequence and single snapshot, stored in
one database, raises exactly the anomalies docs/anomalies.md explains as real."""

from __future__ import annotations

from datetime import UTC, datetime

from vatsim_pipeline_tests.shared_data import DATA_FEEDS, sequence_files, shared_data
from vatsim_pipeline_tests.storage.anomaly_support import ingest, summary


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# kind, callsign, cid, started_at, ended_at ("-": still going on). The newest stored
# snapshot is the 2025 one, where APC001 still squawks 7600.
FINDINGS = """
emergency_squawk     EZY434R 1522142 2021-01-04T15:35:15.468965 2021-01-04T15:35:15.468965
emergency_squawk     PDB504  1541703 2021-01-04T15:35:15.468965 2021-01-04T15:35:15.468965
radio_failure_squawk APC001  1881464 2025-08-06T06:54:57.998404 -
emergency_squawk     RDF7    1828246 2024-11-22T12:48:40.116824 2024-11-22T12:50:25.116137
emergency_squawk     AFL1226 1571420 2022-06-24T11:32:27.981983 2022-06-24T11:38:12.980168
teleport             RYS3972 1498515 2022-06-24T11:34:57.983399 2022-06-24T11:34:57.983399
frozen               EICML   1153841 2022-06-24T10:06:57.987058 2022-06-24T10:07:42.975370
frozen               KQA687B 1641302 2022-06-24T11:38:12.980168 2022-06-24T11:38:12.980168
frozen               PGT6DR  1621414 2022-06-24T11:38:12.980168 2022-06-24T12:06:12.983623
frozen               IBE040  1496461 2022-06-24T12:06:12.983623 2022-06-24T12:06:12.983623
"""


def test_every_recorded_sequence_raises_only_its_real_anomalies(engine) -> None:
    long = sorted(shared_data("long-20220624").glob("vatsim-data_*.json.gz"))
    singles = [shared_data(name) for name in DATA_FEEDS]
    ingest(engine, [*sequence_files(), *long, *singles])
    assert summary(engine) == {
        (kind, callsign, int(cid), _at(start), None if end == "-" else _at(end))
        for kind, callsign, cid, start, end in (
            line.split() for line in FINDINGS.split("\n") if line
        )
    }
