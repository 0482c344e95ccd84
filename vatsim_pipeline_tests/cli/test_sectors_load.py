"""`vatsim-pipeline sectors load` with local files, custom sectors, the live release from
a local server, and bad input that changes nothing, on every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select

# Registers the command on `main`, whether or not cli/app.py lists the module yet.
import vatsim_pipeline.cli.sectors_load  # noqa: F401
from vatsim_pipeline.cli.app import main
from vatsim_pipeline.storage.schema import sectors
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline.storage.traffic_schema import airports
from vatsim_pipeline_tests.sectors import test_release
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.reads_support import real_sectors

server = test_release.server  # the release tests' local HTTP server, as a fixture here
RELEASE = [
    "--vatspy-dat",
    str(shared_data("VATSpy.dat")),
    "--boundaries",
    str(shared_data("Boundaries.geojson.gz")),
    "--tracon",
    str(shared_data("TRACONBoundaries.geojson")),
]
SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "EDGG-LOW", "name": "Langen low", "prefix": ["EDGG_L"]},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[8, 49], [9, 49], [9, 50], [8, 50], [8, 49]]],
            },
        }
    ],
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["sectors", "load", *args])


def stored(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {row.id: dict(row._mapping) for row in connection.execute(select(sectors))}


def test_local_files_and_a_custom_sector_are_stored_with_counts(
    vatsim_env, engine: Engine, tmp_path: Path
) -> None:
    custom = tmp_path / "custom.geojson"
    custom.write_text(json.dumps(SQUARE))

    result = invoke(*RELEASE, "--extra", str(custom))

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "stored 1886 sectors (files Boundaries.geojson.gz): fir 1098, uir 46, tracon 741, "
        "custom 1; inserted 1886, updated 0, deleted 0\n"
    )
    assert f"loading {shared_data('Boundaries.geojson.gz')}" in result.stderr
    assert "storing 1886 sectors into " in result.stderr
    assert "stored 17753 airports" in result.stderr  # the real ones of VATSpy.dat
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(airports)) == 17753
    rows = stored(engine)
    assert len(rows) == 1886
    assert (rows["CUSTOM:EDGG-LOW"]["name"], rows["CUSTOM:EDGG-LOW"]["callsign_prefix"]) == (
        "Langen low",
        "EDGG_L",
    )

    again = invoke(*RELEASE)  # the custom sector is no longer given
    assert again.stdout.endswith("custom 0; inserted 0, updated 0, deleted 1\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--boundaries", "{broken}"], "--vatspy-dat and --boundaries go together"),
        (["--vatspy-dat", "nope.dat", "--boundaries", "{broken}"], "nope.dat: no such file"),
        (["--vatspy-dat", "{vatspy}", "--boundaries", "{broken}"], "{broken}: not JSON: "),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    vatsim_env, engine: Engine, tmp_path: Path, args: list[str], message: str
) -> None:
    replace_sectors(engine, real_sectors(), "files Boundaries.geojson.gz")
    before = stored(engine)
    broken = tmp_path / "Boundaries.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    names = {"broken": str(broken), "vatspy": str(shared_data("VATSpy.dat"))}

    result = invoke(*(arg.format(**names) for arg in args))

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("error: " + message.format(**names))
    assert not any(line.startswith(("error", "Traceback")) for line in lines[:-1])
    assert stored(engine) == before


def test_without_files_the_live_release_is_loaded(
    vatsim_env, engine: Engine, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _, _ = server
    monkeypatch.setenv("VATSIM_MAP_DATA_URL", f"{base}/map_data.json")
    monkeypatch.setenv("VATSIM_TRACON_URL", f"{base}/TRACONBoundaries.geojson")

    result = invoke()

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("stored 1885 sectors (vatspy 9f8d09c): fir 1098, uir 46")
    assert "fetching the current VATSpy release" in result.stderr
    assert {row["source"] for row in stored(engine).values()} == {"vatspy 9f8d09c"}


def test_a_failed_download_is_one_line(
    vatsim_env, engine: Engine, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, served, _ = server
    test_release.announce(served, base, vatspy_dat_url=f"{base}/gone.dat")
    monkeypatch.setenv("VATSIM_MAP_DATA_URL", f"{base}/map_data.json")

    result = invoke()

    assert result.exit_code == 2
    error = result.stderr.splitlines()[-1]
    assert error.startswith(f"error: {base}/gone.dat: download failed: 404")
    assert stored(engine) == {}
