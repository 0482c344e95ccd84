"""`vatsim-pipeline simulate` writes paired feed files per 15 s step, the same bytes for
the same options, with a daily rhythm, and `ingest DIR` stores them with their radios."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from click.testing import CliRunner
from sqlalchemy import func, select

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.feed.rhythm import local_activity, network_share
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage.schema import feed_snapshots, transceivers
from vatsim_pipeline_tests.cli import refused


def _simulate(out: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        main,
        ["simulate", "--start", "2026-12-04T06:00Z", "--pilots", "20", "--out", str(out), *extra],
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_simulate_writes_a_data_and_a_transceivers_file_per_step(tmp_path: Path) -> None:
    output = _simulate(tmp_path / "a", "--hours", "0.05", "--seed", "4")
    assert output.strip().endswith(f"into {tmp_path / 'a'}")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    data = [n for n in names if n.startswith("vatsim-data_")]
    radios = [n for n in names if n.startswith("transceivers-data_")]
    # 0.05 h = 180 s: the first snapshot and then one every 15 s.
    assert len(data) == len(radios) == 13 and len(names) == 26
    assert data[0] == "vatsim-data_20261204T060000Z.json"
    assert data[-1] == "vatsim-data_20261204T060300Z.json"
    assert [n.removeprefix("vatsim-data") for n in data] == [
        n.removeprefix("transceivers-data") for n in radios
    ]
    document = orjson.loads((tmp_path / "a" / data[-1]).read_bytes())
    assert document["general"]["update_timestamp"].startswith("2026-12-04T06:03:00")
    stations = orjson.loads((tmp_path / "a" / radios[-1]).read_bytes())
    pilots = {p["callsign"] for p in document["pilots"]}
    assert pilots and pilots <= {s["callsign"] for s in stations}

    _simulate(tmp_path / "b", "--hours", "0.05", "--seed", "4")
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_simulate_refuses_bad_options_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "vatsim-data_x.json").write_text("{}")
    out = str(tmp_path / "out")
    base = ["simulate", "--pilots", "5"]
    assert refused("sqlite://", *base, "--start", "noon", "--hours", "1", "--out", out) == (
        "error: --start noon: not an ISO time (e.g. 2026-12-04T00:00Z)"
    )
    line = refused("sqlite://", *base, "--start", "2026-12-04", "--hours", "0", "--out", out)
    assert line.startswith("error: --hours: ")
    line = refused(
        "sqlite://", *base, "--start", "2026-12-04", "--hours", "1", "--out", str(tmp_path / "full")
    )
    assert line.endswith("already holds feed files; choose an empty folder")
    assert not (tmp_path / "out").exists()


def test_the_daily_rhythm_peaks_in_the_evening_and_at_local_daytime() -> None:
    evening = datetime(2026, 12, 5, 19, tzinfo=UTC)  # a Saturday, the busiest day
    dawn = datetime(2026, 12, 5, 5, tzinfo=UTC)
    assert network_share(evening) == 1.0
    assert 0.4 < network_share(dawn) < 0.5
    assert network_share(datetime(2026, 12, 7, 19, tzinfo=UTC)) < 0.85  # a Monday
    # 15 UTC is mid-afternoon in London and the small hours in Sydney.
    assert local_activity(0.0, datetime(2026, 12, 4, 15, tzinfo=UTC)) == 1.0
    assert local_activity(151.2, datetime(2026, 12, 4, 15, tzinfo=UTC)) < 0.25

    quiet = Simulator(pilots=400, controllers=0, seed=1, start=dawn, daily_rhythm=True)
    busy = Simulator(pilots=400, controllers=0, seed=1, start=evening, daily_rhythm=True)
    assert len(busy.flights) == 400 and len(quiet.flights) < 200
    # The population follows the rhythm as simulated time passes: 05 UTC to 13 UTC.
    quiet.step(8 * 3600)
    assert quiet.target_pilots == round(400 * network_share(quiet.now)) == 290
    assert len(quiet.flights) > 250


def test_ingest_dir_stores_the_simulated_transceivers_with_their_data(
    tmp_path: Path, vatsim_env: dict[str, str], engine
) -> None:
    _simulate(tmp_path / "sim", "--hours", "0.01", "--seed", "2")
    result = CliRunner().invoke(main, ["ingest", str(tmp_path / "sim")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ingested 3 of 3 snapshot(s) into the database"
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(feed_snapshots)) == 3
        stored = connection.scalar(select(func.count(func.distinct(transceivers.c.observed_at))))
    assert stored == 3
