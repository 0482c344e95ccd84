"""The stored airport list read as a frame, on both databases: kept per process while
`replace_airports` has not replaced it, read again after it did, and read every time
when it was written without `replace_airports` (no record of the replacement)."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert

from vatsim_pipeline.sectors.airports import VatSpyAirport
from vatsim_pipeline.storage.airport_storage import airports_frame, replace_airports
from vatsim_pipeline.storage.traffic_schema import airports


def place(icao: str, latitude: float, longitude: float) -> VatSpyAirport:
    return VatSpyAirport(icao, f"{icao} airport", latitude, longitude, None, None)


def read(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        return list(airports_frame(connection).itertuples(index=False, name=None))


def test_the_frame_is_kept_until_the_list_is_replaced(engine: Engine) -> None:
    replace_airports(engine, [place("EDDF", 50.03, 8.57), place("KATL", 33.64, -84.43)], "a")
    assert read(engine) == [("EDDF", 50.03, 8.57), ("KATL", 33.64, -84.43)]
    # Unchanged list: the kept frame answers, so a row removed by hand is still there.
    with engine.begin() as connection:
        connection.execute(delete(airports).where(airports.c.icao == "KATL"))
    assert read(engine) == [("EDDF", 50.03, 8.57), ("KATL", 33.64, -84.43)]
    # A caller changing its copy changes nothing kept.
    with engine.connect() as connection:
        airports_frame(connection).drop(index=0, inplace=True)
    assert len(read(engine)) == 2

    replace_airports(engine, [place("EDDF", 50.04, 8.56), place("LFPG", 49.01, 2.55)], "b")
    assert read(engine) == [("EDDF", 50.04, 8.56), ("LFPG", 49.01, 2.55)]


def test_a_list_written_without_replace_airports_is_read_every_time(engine: Engine) -> None:
    row = {"icao": "EGLL", "name": "Heathrow", "latitude": 51.47, "longitude": -0.45}
    with engine.begin() as connection:
        connection.execute(insert(airports).values(row))
    assert read(engine) == [("EGLL", 51.47, -0.45)]
    with engine.begin() as connection:
        connection.execute(delete(airports))
    assert read(engine) == []
