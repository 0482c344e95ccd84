"""Queries: how long the five reads users run take on a day of today's traffic.

It creates a fresh database `vp_bench_queries_<pid>` on the PostgreSQL server of `--url`
(else `VATSIM_DATABASE_URL`, else the local server), runs the project's `migrate()`,
creates the day's partitions, and fills it with COPY (not through the pipeline, which
would take the day itself) for yesterday (UTC): `--pilots` concurrent pilots (1,500) in
back-to-back sessions of realistic lengths, one position per connected pilot every 15 s
over `--snapshots` snapshots (5,760: a day, about 8.6 million positions, written snapshot
by snapshot as the pipeline writes them), a few sector visits per flight, a feed snapshot
row per snapshot, and `--history-days` earlier days (6) of ended flights and their sector
visits, without positions. After VACUUM ANALYZE it runs each query `--repeat` times (200)
through the query service with random realistic parameters, shuffled, after a warm-up:

- `track`: one flight's track by id;
- `latest-track`: the track of the latest connection of a callsign;
- `active`: a page of 100 active flights;
- `history`: flights by departure and/or arrival airport in a window of 1 to 6 hours;
- `occupancy`: one sector's visits in a window of 1 to 3 hours.

It prints p50, p95 and max per query, the floor (a `SELECT 1` round trip, p50) and each
p50 as a multiple of it, and the indexes each plan uses (`--explain` prints the plans).
Figures go to `$VATSIM_HOME/bench/queries.json` (`--record`: bench/results/, or
`--output`); the last line has the form `queries track p95 <ms> ms  active p95 <ms> ms`.
The database is dropped unless `--keep`; `--reuse NAME` measures a kept database again
without filling it.

    .venv/bin/python bench/queries.py
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import platform
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, event, text

from vatsim_pipeline.feed.airports import AIRPORTS, FIRS, Airport, bearing_deg, distance_nm
from vatsim_pipeline.feed.simulator import AIRCRAFT, AIRLINES, GA_AIRCRAFT
from vatsim_pipeline.storage.copy_csv import copy_rows
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.partitions import ensure_day_partitions
from vatsim_pipeline.storage.reads import QueryService

STEP_S = 15
SNAPSHOTS_PER_COPY = 240  # an hour of positions per COPY
WARM_UP = 5
EXPLAINED = 5  # calls per query whose plans are sampled
PAGE = 100
PARAMETERS = ("pilots", "snapshots", "history_days", "repeat", "seed")
QUERIES = ("track", "latest-track", "active", "history", "occupancy")
TARGETS_P95_MS = {"track": 20.0, "active": 50.0}
# Session lengths in minutes: (weight, shortest, longest); about 130 minutes on average,
# so that 1,500 pilots make some 17,000 flights a day.
SESSION_LENGTHS = ((50, 10, 70), (38, 70, 210), (12, 210, 720))
GAP_S = (0.0, 240.0)
NO_PLAN_SHARE = 0.07
RETURN_LEG_SHARE = 0.10
GENERAL_AVIATION_SHARE = 0.08
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SCANS = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)?")
SCANNED = re.compile(r"(?:using|on) (\w+)")
FIR_CENTRES = {fir.icao: fir for fir in FIRS}


# --- traffic ----------------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    """One pilot connection; times in seconds from the start of the day (negative before).

    The modelled flight runs from `start` for `length` seconds; it is seen from
    `first_s` to `last_s` (on the 15 s grid, within the recorded time)."""

    slot: int
    cid: int
    callsign: str
    dep: Airport
    arr: Airport
    aircraft: str
    has_plan: bool
    start: float
    length: float
    first_s: int
    last_s: int
    active: bool
    heading: int
    squawk: str
    qnh_mb: int
    cruise_ft: int
    cruise_gs: int
    id: int = 0

    def at(self, t: float) -> tuple[float, float, int, int]:
        """(lat, lon, altitude, groundspeed) at `t`: taxi, climb, cruise, descent, taxi."""
        f = (t - self.start) / self.length
        dep, arr = self.dep, self.arr
        if f < 0.06:
            return dep.latitude, dep.longitude, dep.elevation_ft, 12
        if f > 0.94:
            return arr.latitude, arr.longitude, arr.elevation_ft, 10
        r = (f - 0.06) / 0.88
        lat = dep.latitude + (arr.latitude - dep.latitude) * r
        lon = dep.longitude + (arr.longitude - dep.longitude) * r
        if f < 0.2:
            share = (f - 0.06) / 0.14
            altitude = dep.elevation_ft + (self.cruise_ft - dep.elevation_ft) * share
            return lat, lon, round(altitude), round(160 + (self.cruise_gs - 160) * share)
        if f < 0.82:
            return lat, lon, self.cruise_ft, self.cruise_gs
        share = (f - 0.82) / 0.12
        altitude = self.cruise_ft + (arr.elevation_ft - self.cruise_ft) * share
        return lat, lon, round(altitude), round(self.cruise_gs + (140 - self.cruise_gs) * share)

    def at_route(self, r: float) -> int:
        """The snapshot time at which the flight has flown the fraction `r` of its route."""
        moment = self.start + (0.06 + 0.88 * r) * self.length
        return min(max(round(moment / STEP_S) * STEP_S, self.first_s), self.last_s)


class Traffic:
    """Back-to-back sessions of `pilots` slots from `begin_s` to `end_s`, ids in order of
    first sighting (as the pipeline would have given them)."""

    def __init__(self, pilots: int, begin_s: int, end_s: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.begin_s, self.end_s = begin_s, end_s
        self.weights = [3.0 if a.region in ("EU", "NA") else 1.0 for a in AIRPORTS]
        self.sessions: list[Session] = []
        for slot in range(pilots):
            self._fill_slot(slot)
        self.sessions.sort(key=lambda s: (s.first_s, s.slot))
        for number, session in enumerate(self.sessions, start=1):
            session.id = number

    def _fill_slot(self, slot: int) -> None:
        rng = self.rng
        previous: Session | None = None
        t = self.begin_s - rng.uniform(0, self._length())
        while t <= self.end_s:
            if previous is not None and rng.random() < RETURN_LEG_SHARE:
                session = self._session(slot, t, previous.arr, previous)
            else:
                session = self._session(slot, t, rng.choices(AIRPORTS, self.weights)[0], None)
            if session.first_s <= session.last_s:
                self.sessions.append(session)
            previous = session
            t = session.start + session.length + rng.uniform(*GAP_S)

    def _length(self) -> float:
        weights = [weight for weight, _, _ in SESSION_LENGTHS]
        _, shortest, longest = self.rng.choices(SESSION_LENGTHS, weights)[0]
        return 60 * self.rng.uniform(shortest, longest)

    def _destination(self, dep: Airport, length: float) -> Airport:
        """Of a few airports drawn at random, the one whose distance fits the session."""
        speed = 250 if length < 4200 else 450
        wanted = max(30.0, length / 3600 * 0.88 * speed)
        drawn = self.rng.sample([a for a in AIRPORTS if a is not dep], 8)
        return min(drawn, key=lambda a: abs(_miles(dep, a) - wanted))

    def _session(self, slot: int, start: float, dep: Airport, back: Session | None) -> Session:
        rng = self.rng
        length = self._length()
        arr = back.dep if back is not None else self._destination(dep, length)
        miles = _miles(dep, arr)
        general = back is None and length < 5400 and rng.random() < GENERAL_AVIATION_SHARE
        kind = (
            GA_AIRCRAFT
            if general
            else rng.choice([t for t in AIRCRAFT if t.min_nm <= miles <= t.max_nm] or AIRCRAFT)
        )
        if back is not None:
            cid, callsign = back.cid, back.callsign
        else:
            cid, callsign = rng.randint(800_000, 1_800_000), self._callsign(dep, arr, general)
        level = min(kind.ceiling_ft, max(5000, int(miles * 110))) // 1000 * 1000
        return Session(
            slot=slot,
            cid=cid,
            callsign=callsign,
            dep=dep,
            arr=arr,
            aircraft=kind.short,
            has_plan=rng.random() >= NO_PLAN_SHARE,
            start=start,
            length=length,
            first_s=max(math.ceil(start / STEP_S) * STEP_S, self.begin_s),
            last_s=min(math.floor((start + length) / STEP_S) * STEP_S, self.end_s),
            active=start + length > self.end_s,
            heading=round(bearing_deg(dep.latitude, dep.longitude, arr.latitude, arr.longitude))
            % 360,
            squawk="".join(rng.choices("01234567", k=4)),
            qnh_mb=round(rng.gauss(1015, 8)),
            cruise_ft=4500 if general else level,
            cruise_gs=max(90, kind.tas + round(rng.gauss(0, 25))),
        )

    def _callsign(self, dep: Airport, arr: Airport, general: bool) -> str:
        rng = self.rng
        if general:
            letters = "".join(rng.choices(LETTERS, k=4))
            return f"N{rng.randint(100, 999)}{letters[:2]}" if dep.region == "NA" else f"G{letters}"
        airline = rng.choice(AIRLINES[dep.region if rng.random() < 0.75 else arr.region].split())
        suffix = "".join(rng.choices(LETTERS, k=2)) if rng.random() < 0.15 else ""
        return f"{airline}{rng.randint(1, 2999)}{suffix}"


def _miles(a: Airport, b: Airport) -> float:
    return distance_nm(a.latitude, a.longitude, b.latitude, b.longitude)


def nearest_fir(lat: float, lon: float) -> str | None:
    """The FIR whose centre is nearest, if the point lies within its radius plus 100 nm."""
    best, nearest = None, math.inf
    for fir in FIR_CENTRES.values():
        miles = distance_nm(lat, lon, fir.latitude, fir.longitude)
        if miles < nearest and miles <= fir.radius_nm + 100:
            best, nearest = fir.icao, miles
    return best


def visits(session: Session) -> list[tuple]:
    """(sector, entered, exited or None, entry lat, lon, altitude, exit lat, lon, altitude):
    the FIRs at departure, half way and arrival, each for its share of the route; the last
    one is still open while the flight is active."""
    on_route = [nearest_fir(*session.at(session.at_route(r))[:2]) for r in (0.0, 0.5, 1.0)]
    sectors = list(dict.fromkeys(s for s in on_route if s is not None))
    rows = []
    for i, sector in enumerate(sectors):
        last = i == len(sectors) - 1
        entered = session.first_s if i == 0 else session.at_route(i / len(sectors))
        exited = session.last_s if last else session.at_route((i + 1) / len(sectors))
        lat, lon, altitude, _ = session.at(entered)
        if last and session.active:
            rows.append((sector, entered, None, lat, lon, altitude, None, None, None))
        else:
            rows.append((sector, entered, exited, lat, lon, altitude, *session.at(exited)[:3]))
    return rows


# --- filling the database ---------------------------------------------------------------


FLIGHT_COLUMNS = [
    "id", "cid", "callsign", "logon_time", "name", "server", "pilot_rating", "military_rating",
    "flight_rules", "aircraft", "aircraft_faa", "aircraft_short", "departure", "arrival",
    "alternate", "cruise_tas", "planned_altitude", "deptime", "enroute_time", "fuel_time",
    "remarks", "route", "revision_id", "assigned_transponder", "latitude", "longitude",
    "altitude", "groundspeed", "heading", "transponder", "qnh_i_hg", "qnh_mb", "last_updated",
    "first_seen", "last_seen", "status", "ended_at",
]  # fmt: skip
POSITION_COLUMNS = (
    "flight_id, observed_at, latitude, longitude, altitude, groundspeed, heading, "
    "transponder, qnh_i_hg, qnh_mb"
)
VISIT_COLUMNS = [
    "id", "flight_id", "sector_id", "entered_at", "exited_at", "entry_latitude",
    "entry_longitude", "entry_altitude", "exit_latitude", "exit_longitude", "exit_altitude",
]  # fmt: skip
SNAPSHOT_COLUMNS = [
    "id", "update_timestamp", "fetched_at", "stored_at", "status", "connected_clients",
    "pilots", "controllers", "atis", "prefiles", "servers", "transceiver_stations",
    "transceivers", "rejected",
]  # fmt: skip
SECTOR_COLUMNS = [
    "id", "name", "callsign_prefix", "kind", "oceanic", "min_lat", "min_lon", "max_lat",
    "max_lon", "geometry", "source",
]  # fmt: skip


def flight_row(s: Session, at: Callable[[float], datetime]) -> tuple:
    """The flight as the pipeline leaves it: the plan, and the state at its last sighting."""
    lat, lon, altitude, groundspeed = s.at(s.last_s)
    plan = (
        ("V" if s.aircraft == GA_AIRCRAFT.short else "I", s.aircraft, s.aircraft, s.aircraft,
         s.dep.icao, s.arr.icao, "", str(s.cruise_gs), str(s.cruise_ft), "1200", "0130",
         "0300", "PBN/A1B1C1D1S1S2 /V/", "DCT", 1, s.squawk)
        if s.has_plan
        else (None,) * 16
    )  # fmt: skip
    last = at(s.last_s)
    return (
        s.id, s.cid, s.callsign, at(s.first_s - 60), f"Pilot {s.cid}", "GERMANY", 1, 0, *plan,
        lat, lon, altitude, groundspeed, s.heading, s.squawk, round(s.qnh_mb * 0.02953, 2),
        s.qnh_mb, last, at(s.first_s), last, "active" if s.active else "completed",
        None if s.active else last,
    )  # fmt: skip


def position_lines(
    first_k: int,
    last_k: int,
    at: Callable[[float], datetime],
    starts: dict[int, list[Session]],
    running: list[Session],
    pilots: list[int],
) -> Iterator[str]:
    """COPY CSV lines of snapshots first_k..last_k, snapshot by snapshot as the pipeline
    writes them. `running` carries the connected sessions from one call to the next, and
    `pilots` gains the count of each snapshot."""
    for k in range(first_k, last_k + 1):
        t = k * STEP_S
        observed = at(t).isoformat()
        running[:] = [s for s in running if s.last_s >= t] + starts.get(k, [])
        pilots.append(len(running))
        for s in running:
            lat, lon, altitude, speed = s.at(t)
            yield (
                f"{s.id},{observed},{lat:.6f},{lon:.6f},{altitude},{speed},{s.heading},"
                f'"{s.squawk}",{s.qnh_mb * 0.02953:.2f},{s.qnh_mb}\n'
            )


def copy_text(engine: Engine, table: str, columns: str, body: str) -> None:
    """COPY lines already encoded (the positions are formatted directly, for speed)."""
    with engine.begin() as connection, connection.connection.cursor() as cursor:
        statement = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)"
        cursor.copy_expert(statement, io.StringIO(body))


def copy_table(engine: Engine, table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY rows with their ids, and move the id sequence past them."""
    with engine.begin() as connection:
        copy_rows(connection, table, columns, rows)
        if columns[0] == "id" and rows and isinstance(rows[0][0], int):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :last)"),
                {"last": max(row[0] for row in rows)},
            )


def square(lat: float, lon: float) -> str:
    """A stand-in boundary: the queries measured never read it."""
    ring = [[lon - 4, lat - 3], [lon + 4, lat - 3], [lon + 4, lat + 3], [lon - 4, lat + 3]]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def fill(engine: Engine, traffic: Traffic, day_start: datetime, snapshots: int) -> dict:
    """COPY the traffic into the migrated database, then VACUUM ANALYZE; returns counts
    and how long each stage took."""

    def at(seconds: float) -> datetime:
        return day_start + timedelta(seconds=seconds)

    timings: dict[str, float] = {}
    mark = time.perf_counter()
    copy_table(engine, "flights", FLIGHT_COLUMNS, [flight_row(s, at) for s in traffic.sessions])
    timings["flights_s"] = round(time.perf_counter() - mark, 1)
    print(f"flights: {len(traffic.sessions):,} rows, {timings['flights_s']} s", flush=True)

    mark = time.perf_counter()
    on_the_day = [s for s in traffic.sessions if s.last_s >= 0]
    starts: dict[int, list[Session]] = {}
    for s in on_the_day:
        starts.setdefault(max(s.first_s, 0) // STEP_S, []).append(s)
    running: list[Session] = []
    pilots: list[int] = []
    positions = 0
    for first_k in range(0, snapshots, SNAPSHOTS_PER_COPY):
        last_k = min(first_k + SNAPSHOTS_PER_COPY, snapshots) - 1
        body = "".join(position_lines(first_k, last_k, at, starts, running, pilots))
        copy_text(engine, "flight_positions", POSITION_COLUMNS, body)
        positions = sum(pilots)
        print(
            f"positions: {(last_k + 1) * STEP_S / 3600:4.1f} h of "
            f"{snapshots * STEP_S / 3600:.1f} h, {positions:,} rows, "
            f"{time.perf_counter() - mark:.0f} s",
            flush=True,
        )
    timings["positions_s"] = round(time.perf_counter() - mark, 1)

    mark = time.perf_counter()
    visit_rows = [
        (0, s.id, sector, at(entered), None if exited is None else at(exited), *place)
        for s in traffic.sessions
        for sector, entered, exited, *place in visits(s)
    ]
    visit_rows = [(number, *row[1:]) for number, row in enumerate(visit_rows, start=1)]
    copy_table(engine, "flight_sector_occupancy", VISIT_COLUMNS, visit_rows)
    snapshot_rows = [
        (k + 1, at(k * STEP_S), at(k * STEP_S + 1), at(k * STEP_S + 3), "stored",
         count + 200, count, 150, 50, 60, 7, count + 200, count + 300, 0)
        for k, count in enumerate(pilots)
    ]  # fmt: skip
    copy_table(engine, "feed_snapshots", SNAPSHOT_COLUMNS, snapshot_rows)
    sector_rows = [
        (fir.icao, fir.name, fir.callsign.split("_")[0], "fir", False, fir.latitude - 3,
         fir.longitude - 4, fir.latitude + 3, fir.longitude + 4,
         square(fir.latitude, fir.longitude), "bench")
        for fir in FIR_CENTRES.values()
    ]  # fmt: skip
    copy_table(engine, "sectors", SECTOR_COLUMNS, sector_rows)
    timings["visits_snapshots_sectors_s"] = round(time.perf_counter() - mark, 1)
    print(
        f"sector visits: {len(visit_rows):,} rows; feed snapshots: {len(snapshot_rows):,}; "
        f"sectors: {len(sector_rows)}; {timings['visits_snapshots_sectors_s']} s",
        flush=True,
    )

    mark = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    timings["vacuum_analyze_s"] = round(time.perf_counter() - mark, 1)
    print(f"vacuum analyze: {timings['vacuum_analyze_s']} s", flush=True)
    return {
        "flights": len(traffic.sessions),
        "flights_on_the_day": len(on_the_day),
        "flights_active_at_the_end": sum(1 for s in traffic.sessions if s.active),
        "pilots_per_snapshot_mean": round(positions / max(1, len(pilots))),
        "positions": positions,
        "sector_visits": len(visit_rows),
        "open_sector_visits": sum(1 for row in visit_rows if row[4] is None),
        "load_timings": timings,
    }


# --- measuring --------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the random parameters are drawn from, read back from the database."""

    day_start: datetime
    day_end: datetime
    flights: list[tuple[int, str, str | None, str | None]]
    sectors: list[str]
    active: int

    @classmethod
    def read(cls, engine: Engine) -> Choices:
        with engine.connect() as connection:
            start, end = connection.execute(
                text("SELECT min(update_timestamp), max(update_timestamp) FROM feed_snapshots")
            ).one()
            flights = connection.execute(
                text(
                    "SELECT id, callsign, departure, arrival FROM flights "
                    "WHERE last_seen >= :start ORDER BY id"
                ),
                {"start": start},
            ).all()
            sectors = connection.execute(
                text(
                    "SELECT sector_id FROM flight_sector_occupancy "
                    "WHERE entered_at >= :start ORDER BY id"
                ),
                {"start": start},
            ).scalars()
            active = connection.execute(
                text("SELECT count(*) FROM flights WHERE status = 'active'")
            ).scalar_one()
            return cls(start, end, [tuple(row) for row in flights], list(sectors), active)

    def window(self, rng: random.Random, shortest_h: float, longest_h: float) -> tuple:
        """A window of the recorded day (as long as the day allows)."""
        day_s = (self.day_end - self.day_start).total_seconds()
        length = min(day_s, 3600 * rng.uniform(shortest_h, longest_h))
        since = self.day_start + timedelta(seconds=rng.uniform(0, day_s - length))
        return since, since + timedelta(seconds=length)


def draw(name: str, service: QueryService, choices: Choices, rng: random.Random) -> Callable:
    """One call of query `name` with fresh random parameters; it returns the rows it got."""
    if name == "track":
        flight_id = rng.choice(choices.flights)[0]
        return lambda: len(service.get_flight_track(flight_id).positions)
    if name == "latest-track":
        callsign = rng.choice(choices.flights)[1]
        return lambda: len(service.get_flight_track(callsign).positions)
    if name == "active":
        pages = max(1, math.ceil(choices.active / PAGE))
        offset = PAGE * rng.randrange(pages)
        return lambda: len(service.get_active_flights(limit=PAGE, offset=offset).items)
    if name == "history":
        _, _, departure, arrival = rng.choice([f for f in choices.flights if f[2]])
        mode = rng.choice(("departure", "arrival", "both"))
        airports = {
            "departure": departure if mode != "arrival" else None,
            "arrival": arrival if mode != "departure" else None,
        }
        since, until = choices.window(rng, 1, 6)
        return lambda: len(
            service.get_flight_history(**airports, since=since, until=until, limit=PAGE).items
        )
    sector = rng.choice(choices.sectors)
    since, until = choices.window(rng, 1, 3)
    return lambda: len(
        service.get_sector_occupancy(sector, since=since, until=until, limit=PAGE).items
    )


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def floor_ms(engine: Engine, repeat: int) -> list[float]:
    """Round trips of `SELECT 1` on a pooled connection: the least any query costs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
        times.append(1000 * (time.perf_counter() - started))
    return times


def explain(engine: Engine, call: Callable) -> list[list[str]]:
    """EXPLAIN ANALYZE of every statement one call of the service executes."""
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            for statement, parameters in captured:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plans.append([row[0] for row in cursor.fetchall()])
        raw.rollback()
    finally:
        raw.close()
    return plans


def scans(samples: list[list[list[str]]]) -> dict[str, int]:
    """`Index Scan ix`, `Seq Scan t` ...: in how many of the sampled calls each appears."""
    counts: dict[str, int] = {}
    for plans in samples:
        found = set()
        for line in (line for plan in plans for line in plan):
            kind, target = SCANS.search(line), SCANNED.search(line)
            if kind and target:
                found.add(f"{kind.group(1)} {target.group(1)}")
        for scan in sorted(found):
            counts[scan] = counts.get(scan, 0) + 1
    return counts


def measure(engine: Engine, repeat: int, seed: int, show_plans: bool) -> dict:
    service = QueryService(engine)
    choices = Choices.read(engine)
    rng = random.Random(seed)
    for name in QUERIES:
        for _ in range(WARM_UP):
            draw(name, service, choices, rng)()
    calls = [(name, draw(name, service, choices, rng)) for name in QUERIES for _ in range(repeat)]
    rng.shuffle(calls)
    # The bench's own long-lived objects (a day's 100,000 flight tuples to draw from)
    # would otherwise be walked by every full garbage collection a query triggers,
    # billing the queries for the bench's memory: set them aside from the collector.
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in QUERIES}
    rows: dict[str, list[int]] = {name: [] for name in QUERIES}
    for name, call in calls:
        started = time.perf_counter()
        count = call()
        times[name].append(1000 * (time.perf_counter() - started))
        rows[name].append(count)
    floor = percentile(floor_ms(engine, repeat), 0.5)
    figures = {}
    for name in QUERIES:
        samples = [explain(engine, draw(name, service, choices, rng)) for _ in range(EXPLAINED)]
        if show_plans:
            print(f"--- {name}\n" + "\n\n".join("\n".join(plan) for plan in samples[0]))
        p50 = percentile(times[name], 0.5)
        figures[name] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(percentile(times[name], 0.95), 2),
            "max_ms": round(max(times[name]), 2),
            "p50_over_floor": round(p50 / floor, 1),
            "rows_mean": round(sum(rows[name]) / len(rows[name]), 1),
            "scans_in_sampled_plans": scans(samples),
            "plans": samples[0],
        }
        if name in TARGETS_P95_MS:
            figures[name]["target_p95_ms"] = TARGETS_P95_MS[name]
    return {"floor_p50_ms": round(floor, 3), "queries": figures}


# --- the run ----------------------------------------------------------------------------


def machine() -> dict:
    """CPUs, memory and CPU model of this machine, and the load average now."""
    info = {"nproc": os.cpu_count(), "python": platform.python_version()}
    for path, key, field in (
        ("/proc/meminfo", "memory_gib", "MemTotal"),
        ("/proc/cpuinfo", "cpu", "model name"),
    ):
        try:
            line = next(x for x in Path(path).read_text().splitlines() if x.startswith(field))
        except (OSError, StopIteration):
            continue
        value = line.split(":", 1)[1].strip()
        info[key] = round(int(value.split()[0]) / 2**20, 1) if key == "memory_gib" else value
    return info


def database_facts(engine: Engine) -> dict:
    with engine.connect() as connection:
        return {
            "postgresql": connection.execute(text("SHOW server_version")).scalar_one(),
            "database_mib": round(
                connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
                / 2**20
            ),
            "positions_partitioned": connection.execute(
                text("SELECT relkind = 'p' FROM pg_class WHERE relname = 'flight_positions'")
            ).scalar(),
            "indexes": list(
                connection.execute(
                    text(
                        "SELECT indexname FROM pg_indexes WHERE tablename IN "
                        "('flights', 'flight_sector_occupancy', 'flight_summaries') "
                        "ORDER BY tablename, indexname"
                    )
                ).scalars()
            ),
        }


def report(figures: dict) -> None:
    """One line of times per query, the next the scans of its sampled plans."""
    print(f"floor (SELECT 1 round trip) p50 {figures['floor_p50_ms']:.2f} ms")
    for query, figure in figures["queries"].items():
        target = figure.get("target_p95_ms")
        verdict = ""
        if target is not None:
            met = "met" if figure["p95_ms"] < target else "MISSED"
            verdict = f"  target p95 < {target:.0f} ms: {met}"
        scanned = figure["scans_in_sampled_plans"].items()
        print(
            f"{query:<13} p50 {figure['p50_ms']:7.2f} ms  p95 {figure['p95_ms']:7.2f} ms  "
            f"max {figure['max_ms']:7.2f} ms  p50 x{figure['p50_over_floor']:<6} "
            f"rows {figure['rows_mean']:<7}{verdict}\n"
            f"{'':<14}{'; '.join(f'{scan} {n}/{EXPLAINED}' for scan, n in scanned)}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=1500, help="concurrent pilots (1500)")
    parser.add_argument("--snapshots", type=int, default=5760, help="15 s snapshots (5760)")
    parser.add_argument("--history-days", type=int, default=6, help="earlier days (6)")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per query (200)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--url", help="PostgreSQL server (default $VATSIM_DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="NAME", help="measure this kept database again")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    add_arguments(parser)
    args = parser.parse_args()
    if min(args.pilots, args.snapshots, args.repeat) < 1 or args.history_days < 0:
        parser.error("--pilots, --snapshots and --repeat must be 1 or more, --history-days 0+")
    return args


def main() -> None:
    args = parse_args()
    server = server_url("queries.py", "VATSIM_DATABASE_URL", given=args.url)
    name = args.reuse or f"vp_bench_queries_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    load = os.getloadavg()
    if not args.reuse:
        create_database(server, name)
    loader = make_engine(url, statement_timeout_ms=0)
    engine = make_engine(url)
    data: dict = {"reused": name} if args.reuse else {}
    try:
        if not args.reuse:
            day = (datetime.now(UTC) - timedelta(days=1)).date()
            day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            end_s = (args.snapshots - 1) * STEP_S
            print(
                f"filling {name}: {args.pilots:,} pilots, {args.snapshots:,} snapshots from "
                f"{day_start:%Y-%m-%d %H:%M} UTC; {args.history_days} earlier days of ended "
                "flights and sector visits without positions",
                flush=True,
            )
            migrate(loader)
            last_day = (day_start + timedelta(seconds=end_s)).date()
            days = [day + timedelta(days=n) for n in range((last_day - day).days + 1)]
            ensure_day_partitions(loader, days)
            traffic = Traffic(args.pilots, -86_400 * args.history_days, end_s, args.seed)
            data = fill(loader, traffic, day_start, args.snapshots)
        facts = database_facts(engine)
        print(
            f"database {facts['database_mib']:,} MiB; flight_positions partitioned: "
            f"{bool(facts['positions_partitioned'])}; indexes: {', '.join(facts['indexes'])}",
            flush=True,
        )
        figures = measure(engine, args.repeat, args.seed + 1, args.explain)
    finally:
        engine.dispose()
        loader.dispose()
        if args.keep or args.reuse:
            print(f"kept: {url}")
        else:
            drop_database(server, name)
    report(figures)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {key: getattr(args, key) for key in PARAMETERS},
        "machine": machine()
        | {
            "load_average_at_start": round(load[0], 2),
            "load_average_at_end": round(os.getloadavg()[0], 2),
        },
        "database": facts,
        "data": data,
        **figures,
    }
    written = write_results(results_path("queries.json", args), results)
    print(f"figures written to {written}")
    track, active = figures["queries"]["track"]["p95_ms"], figures["queries"]["active"]["p95_ms"]
    print(f"queries track p95 {track:.1f} ms  active p95 {active:.1f} ms")


if __name__ == "__main__":
    main()
