"""A seeded, steppable simulation of VATSIM traffic, rendered as real-shaped v3 feeds.

The pipeline and its tests must run offline, at any traffic level and over hours of
simulated time in seconds. `Simulator.step(seconds)` advances simulated time without
sleeping; `Simulator.render()` turns the state into the two payloads VATSIM would publish
at that moment (`vatsim-data.json` and `transceivers-data.json`), serialized with orjson.

The model, kept simple but true to what the pipeline relies on:

- A pilot connects at the gate, taxies, climbs, cruises, descends, lands, taxies in and
  disconnects, flying the great circle between two airports of `airports.AIRPORTS`; the
  distance moved between snapshots is the reported groundspeed times the time elapsed.
  New pilots connect so that the population stays near its target, some after sitting
  in `prefiles` for a while.
- A connection is `(cid, callsign, logon_time)`: a pilot who drops out mid-flight and
  comes back a few minutes later, or flies the return leg under the same callsign, does
  so with a new `logon_time`.
- Controllers staff the positions of `airports.atc_stations`, log off after a session and
  are replaced; a tower or approach controller usually runs the airport's ATIS too.
- Every station has transceivers: a pilot's at its position, tuned to the controller who
  would work it there or else to UNICOM 122.800; a controller's on its own frequency.

Everything random is drawn from one `random.Random(seed)`, so the same seed, start and
sequence of steps give the same bytes.
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from vatsim_pipeline.feed.airports import (
    AIRPORTS,
    AIRPORTS_BY_ICAO,
    APP,
    ATIS_STATIONS,
    CTR,
    DEL,
    EARTH_RADIUS_NM,
    FEET_TO_M,
    GND,
    TWR,
    Airport,
    Station,
    atc_stations,
    distance_nm,
    unit_vector,
)
from vatsim_pipeline.feed.rhythm import local_activity, network_share

MAX_TICK_S = 15.0
CLIMB_FT_PER_NM = 320.0
DESCENT_FT_PER_NM = 300.0
LIFTOFF_KT = 150
LANDING_KT = 70
LANDING_ROLL_NM = 0.8
UNICOM_KHZ = 122_800
OBSERVER_KHZ = 199_998
DROP_MEAN_S = 40 * 3600.0
PREFILE_SHARE = 0.06
MINUTE_US = 60_000_000
EPOCH = datetime(1970, 1, 1)

GATE, TAXI_OUT, AIRBORNE, LANDING, TAXI_IN, ARRIVED = range(6)


def _table(keys: str, rows: str) -> list[dict]:
    """Reference rows written as `a|b|c` lines, as the feed lists them (ids are ints)."""
    names = keys.split()
    return [
        {
            name: int(value) if name == "id" else value
            for name, value in zip(names, line.split("|"), strict=True)
        }
        for line in rows.strip().splitlines()
    ]


FACILITIES = _table(
    "id short long",
    """
0|OBS|Observer
1|FSS|Flight Service Station
2|DEL|Clearance Delivery
3|GND|Ground
4|TWR|Tower
5|APP|Approach/Departure
6|CTR|Enroute
""",
)
RATINGS = _table(
    "id short long",
    """
-1|INAC|Inactive
0|SUS|Suspended
1|OBS|Observer
2|S1|Tower Trainee
3|S2|Tower Controller
4|S3|Senior Student
5|C1|Enroute Controller
6|C2|Controller 2 (not in use)
7|C3|Senior Controller
8|I1|Instructor
9|I2|Instructor 2 (not in use)
10|I3|Senior Instructor
11|SUP|Supervisor
12|ADM|Administrator
""",
)
PILOT_RATINGS = _table(
    "id short_name long_name",
    """
0|NEW|Basic Member
1|PPL|Private Pilot License
3|IR|Instrument Rating
7|CMEL|Commercial Multi-Engine License
15|ATPL|Airline Transport Pilot License
31|FI|Flight Instructor
63|FE|Flight Examiner
""",
)
MILITARY_RATINGS = _table(
    "id short_name long_name",
    """
0|M0|No Military Rating
1|M1|Military Pilot License
3|M2|Military Instrument Rating
7|M3|Military Multi-Engine Rating
15|M4|Military Mission Ready Pilot
""",
)
# The network's FSD servers; the addresses are a documentation range, not real hosts.
_SERVER_LOCATIONS = _table(
    "ident location",
    """
VIRTUALNAS|The Cloud
AMSTERDAM|Amsterdam, Netherlands
UK|London, UK
GERMANY2|Frankfurt, Germany
USA-WEST|San Francisco, USA
USA-SE|Atlanta, USA
USA-EAST|New York, USA
GERMANY|Frankfurt, Germany
CANADA|Toronto, Canada
""",
)
SERVERS = [
    {
        "ident": server["ident"],
        "hostname_or_ip": f"192.0.2.{index + 10}",
        "location": server["location"],
        "name": server["ident"],
        "clients_connection_allowed": 1,
        "client_connections_allowed": True,
        "is_sweatbox": False,
    }
    for index, server in enumerate(_SERVER_LOCATIONS)
]
SERVERS_BY_REGION = {
    "EU": ("GERMANY", "GERMANY2", "UK", "AMSTERDAM"),
    "NA": ("USA-EAST", "USA-WEST", "USA-SE", "CANADA"),
}
ALL_SERVERS = ("GERMANY", "GERMANY2", "UK", "AMSTERDAM", "USA-EAST", "USA-WEST", "USA-SE")
AIRLINES = {
    "EU": "DLH BAW AFR KLM EZY RYR SWR AUA SAS IBE VLG TAP LOT FIN EIN THY WZZ EWG",
    "NA": "AAL DAL UAL SWA JBU ASA ACA WJA FDX UPS SKW AMX",
    "SA": "TAM GLO LAN ARG AZU",
    "AF": "SAA ETH MSR RAM KQA",
    "ME": "UAE QTR ETD SVA",
    "AS": "CPA SIA JAL ANA KAL CCA CES THA AIC CSN",
    "OC": "QFA VOZ ANZ JST",
}
FIRST_NAMES = "Alex Anna Ben Carla Daniel Elena Felix Grace Hugo Ines Jack Kenji Lea Marco Nina"
LAST_NAMES = "Andersen Becker Costa Dubois Evans Fischer Garcia Hansen Ito Jansen Kowalski Novak"
REGION_WEIGHTS = {"EU": 1.6, "NA": 1.3, "SA": 0.6, "AF": 0.4, "ME": 0.8, "AS": 0.8, "OC": 0.8}


@dataclass(frozen=True, slots=True)
class AircraftType:
    """An aircraft type as a flight plan names it, and the trips it is used for."""

    short: str
    equipment: str
    faa: str
    tas: int
    ceiling_ft: int
    min_nm: int
    max_nm: int


AIRCRAFT = tuple(
    AircraftType(*row)
    for row in (
        ("DH8D", "DH8D/M-SDE3FGHIRY/S", "DH8D/G", 290, 25000, 60, 900),
        ("AT76", "AT76/M-SDFGIRY/S", "AT76/G", 270, 24000, 60, 700),
        ("E190", "E190/M-SDE3FGHIJ1RWXY/LB1", "E190/L", 430, 39000, 80, 2000),
        ("CRJ9", "CRJ9/M-SDE3FGHIRWXY/LB1", "CRJ9/L", 440, 37000, 80, 1500),
        ("A320", "A320/M-SDE2E3FGHIRWY/LB1", "A320/L", 447, 39000, 100, 3000),
        ("A20N", "A20N/M-SDE2E3FGHIJ1RWXY/LB1", "A20N/L", 450, 39000, 100, 3300),
        ("A321", "A321/M-SDE3FGHIRWY/LB1", "A321/L", 455, 39000, 150, 3000),
        ("B738", "B738/M-SDE2E3FGHIJ2J3J4J5M1RWXY/LB1", "B738/L", 452, 41000, 100, 2900),
        ("B38M", "B38M/M-SDE2E3FGHIJ2J3J4J5M1RWXY/LB1", "B38M/L", 453, 41000, 100, 3300),
        ("B789", "B789/H-SDE2E3FGHIJ2J3J4J5M1RWXY/LB1D1", "H/B789/L", 488, 43000, 1500, 7500),
        ("B77W", "B77W/H-SDE1E2E3FGHIJ2J3J4J5M1RWXY/LB1D1", "H/B77W/L", 490, 41000, 1500, 7300),
        ("A359", "A359/H-SDE2E3GHIJ3J4J5LM1ORWXY/LB1D1", "H/A359/L", 488, 43000, 1500, 8000),
        ("A388", "A388/J-SADE2E3FGHIJ3J4J5M1RWXY/LB1D1", "J/A388/L", 490, 43000, 2500, 8000),
    )
)
GA_AIRCRAFT = AircraftType("C172", "C172/L-SDFGY/C", "C172/G", 110, 4500, 15, 250)

TRIP_CLASSES = ((80, 1500), (1500, 3500), (3500, 7500))
# Hijack, radio failure, emergency: codes the anomaly detectors report, so the simulated
# traffic never squawks them by chance (about 1 pilot in 1,500 did: a demo opened on a
# warning).
EMERGENCY_SQUAWKS = frozenset({"7500", "7600", "7700"})
TRIP_CLASS_WEIGHTS = (6, 9, 10)
RATING_WEIGHTS = ((0, 1, 3, 7, 15, 31, 63), (60, 75, 85, 92, 97, 99, 100))
FACILITY_WEIGHTS = {DEL: 1.0, GND: 1.5, TWR: 2.0, APP: 2.0, CTR: 3.0}


def _distance(a: Airport, b: Airport) -> float:
    return distance_nm(a.latitude, a.longitude, b.latitude, b.longitude)


def _destinations(origin: Airport) -> list[list[Airport]]:
    """Airports reachable from `origin`: by general aviation, then by trip class."""
    others = [(_distance(origin, other), other) for other in AIRPORTS if other is not origin]
    reachable = [[a for d, a in others if 15 <= d <= GA_AIRCRAFT.max_nm]]
    for low, high in TRIP_CLASSES:
        reachable.append([a for d, a in others if low <= d <= high])
    return reachable


_CUMULATIVE_WEIGHTS = list(itertools.accumulate(REGION_WEIGHTS[a.region] for a in AIRPORTS))
_DESTINATIONS = {airport.icao: _destinations(airport) for airport in AIRPORTS}
_ALTERNATES = {
    airport.icao: min(AIRPORTS, key=lambda other: _distance(airport, other) or math.inf)
    for airport in AIRPORTS
}


def feed_time(moment_us: int, tenth: int = 0) -> str:
    """Microseconds since the epoch as the feed writes time: 7 fractional digits and `Z`."""
    moment = EPOCH + timedelta(microseconds=moment_us)
    return f"{moment.isoformat(timespec='microseconds')}{tenth}Z"


def _hhmm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60 % 100:02d}{minutes % 60:02d}"


@dataclass(slots=True, eq=False)
class Flight:
    """One pilot flying gate to gate, and the connection that flies it.

    Progress is `s`, the distance flown along the great circle from the departure
    airport; position, altitude and groundspeed all follow from `s` and the phase.
    """

    dep: Airport
    arr: Airport
    aircraft: AircraftType
    taxi_kt: int
    takeoff_nm: float
    taxi_in_nm: float
    cruise_ft: int
    cruise_gs: int
    gate_heading: int
    arrived_wait_us: int
    com2_khz: int | None
    cid: int = 0
    callsign: str = ""
    record: dict = field(default_factory=dict)
    phase: int = GATE
    s: float = 0.0
    until_us: int = 0
    connect_at_us: int = 0
    prefiled_us: int = 0
    total_nm: float = field(init=False)
    touchdown_nm: float = field(init=False)
    ends: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        dep, arr = self.dep, self.arr
        self.total_nm = distance_nm(dep.latitude, dep.longitude, arr.latitude, arr.longitude)
        self.touchdown_nm = self.total_nm - self.taxi_in_nm - LANDING_ROLL_NM
        if self.touchdown_nm < self.takeoff_nm + 1.0:
            self.touchdown_nm = self.takeoff_nm + 1.0
            self.total_nm = self.touchdown_nm + LANDING_ROLL_NM + self.taxi_in_nm
        omega = self.total_nm / EARTH_RADIUS_NM
        self.ends = (
            *unit_vector(dep.latitude, dep.longitude),
            *unit_vector(arr.latitude, arr.longitude),
            omega,
            math.sin(omega),
        )

    def altitude(self) -> int:
        """Feet MSL: field elevation on the ground, else the lowest of climb, cruise, descent."""
        if self.phase <= TAXI_OUT:
            return self.dep.elevation_ft
        if self.phase != AIRBORNE:
            return self.arr.elevation_ft
        climb = self.dep.elevation_ft + CLIMB_FT_PER_NM * (self.s - self.takeoff_nm)
        descent = self.arr.elevation_ft + DESCENT_FT_PER_NM * (self.touchdown_nm - self.s)
        return int(min(self.cruise_ft, climb, descent))

    def ground_ft(self) -> int:
        """Elevation of the nearer end of the trip, the ground the flight is measured from."""
        return self.dep.elevation_ft if self.s * 2 < self.total_nm else self.arr.elevation_ft

    def groundspeed(self, altitude: int | None = None) -> int:
        """Knots; in the air it grows with height above the field, up to the cruise speed."""
        phase = self.phase
        if phase == AIRBORNE:
            ground = self.ground_ft()
            above = (self.altitude() if altitude is None else altitude) - ground
            share = above / max(1.0, self.cruise_ft - ground)
            return int(LIFTOFF_KT + (self.cruise_gs - LIFTOFF_KT) * min(1.0, max(0.0, share)))
        if phase in (TAXI_OUT, TAXI_IN):
            return self.taxi_kt
        return LANDING_KT if phase == LANDING else 0

    def advance(self, seconds: float, now_us: int) -> bool:
        """Move on by `seconds` at the current groundspeed; True once it is time to go."""
        phase = self.phase
        if phase == GATE:
            if now_us >= self.until_us:
                self.phase = TAXI_OUT
            return False
        if phase == ARRIVED:
            return now_us >= self.until_us
        self.s += self.groundspeed() * seconds / 3600.0
        if phase == TAXI_OUT and self.s >= self.takeoff_nm:
            self.phase = AIRBORNE
        elif phase == AIRBORNE and self.s >= self.touchdown_nm:
            self.phase = LANDING
        elif phase == LANDING and self.s >= self.touchdown_nm + LANDING_ROLL_NM:
            self.phase = TAXI_IN
        elif phase == TAXI_IN and self.s >= self.total_nm:
            self.s = self.total_nm
            self.phase = ARRIVED
            self.until_us = now_us + self.arrived_wait_us
        return False

    def position(self) -> tuple[float, float, int]:
        """Latitude, longitude and heading (degrees) at the current progress."""
        if self.s <= 0.0:
            return self.dep.latitude, self.dep.longitude, self.gate_heading
        if self.s >= self.total_nm:
            return self.arr.latitude, self.arr.longitude, self.gate_heading
        ax, ay, az, bx, by, bz, omega, sin_omega = self.ends
        share = self.s / self.total_nm
        a = math.sin((1.0 - share) * omega) / sin_omega
        b = math.sin(share * omega) / sin_omega
        x, y, z = a * ax + b * bx, a * ay + b * by, a * az + b * bz
        # The course is the direction of the destination seen from here, resolved into
        # the local east and north unit vectors; no further trigonometry needed.
        cos_phi = math.hypot(x, y)
        cos_lam, sin_lam = x / cos_phi, y / cos_phi
        dot = x * bx + y * by + z * bz
        tx, ty, tz = bx - dot * x, by - dot * y, bz - dot * z
        east = ty * cos_lam - tx * sin_lam
        north = tz * cos_phi - z * (tx * cos_lam + ty * sin_lam)
        course = math.degrees(math.atan2(east, north)) % 360.0
        return math.degrees(math.atan2(z, cos_phi)), math.degrees(math.atan2(y, x)), int(course)

    def phase_name(self) -> str:
        """gate, taxi, climb, cruise, descent, landing or arrived."""
        if self.phase == AIRBORNE:
            if self.altitude() >= self.cruise_ft:
                return "cruise"
            return "climb" if self.s * 2 < self.total_nm else "descent"
        return ("gate", "taxi", "", "landing", "taxi", "arrived")[self.phase]


@dataclass(slots=True, eq=False)
class Session:
    """One controller connection on one station, and the ATIS it runs, if any."""

    station: Station
    cid: int
    record: dict
    until_us: int
    atis: Session | None = None


class Simulator:
    """The simulated network: step it through time, render it as feed payloads.

    `pilots` and `controllers` are the populations to keep (ATIS connections come on top
    of the controllers); `start` is the simulated time of the first snapshot (now when
    omitted). With `daily_rhythm`, `pilots` and `controllers` are the populations of the
    busiest hour: they follow `rhythm.network_share` over the day, and departures favour
    airports in their local daytime (`rhythm.local_activity`). Attributes worth reading:
    `flights`, `pending` (prefiled, not connected yet),
    `sessions` and `stats` (connections, completed flights, drops, log-ons so far).
    """

    def __init__(
        self,
        pilots: int = 1500,
        controllers: int = 150,
        seed: int = 0,
        start: datetime | None = None,
        daily_rhythm: bool = False,
    ) -> None:
        if pilots < 0 or controllers < 0:
            raise ValueError("pilots and controllers cannot be negative")
        self.peak_pilots = pilots
        self.daily_rhythm = daily_rhythm
        self.peak_controllers = controllers
        self.target_controllers = controllers
        self.seed = seed
        self.rng = random.Random(seed)
        moment = (start or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        self.now_us = (moment - EPOCH) // timedelta(microseconds=1)
        self._departure_weights = _CUMULATIVE_WEIGHTS
        self._weights_for_us = -1
        self.target_pilots = pilots
        self._follow_rhythm()
        self.stations = atc_stations(controllers)
        self._station_weights = list(
            itertools.accumulate(FACILITY_WEIGHTS[s.facility] for s in self.stations)
        )
        self.stats: Counter[str] = Counter()
        self.flights: list[Flight] = []
        self.pending: list[Flight] = []
        self.dropped: list[Flight] = []
        self.sessions: list[Session] = []
        self._cids: set[int] = set()
        self._callsigns: set[str] = set()
        self._staffed: set[str] = set()
        for _ in range(self.target_pilots):
            self._connect(self._new_flight(), midway=True)
        for _ in range(round(self.target_pilots * PREFILE_SHARE)):
            self.pending.append(self._prefiled_flight())
        for _ in range(self.target_controllers):
            self._log_on(already_for_s=self.rng.uniform(0, 7200))

    @property
    def now(self) -> datetime:
        """The simulated time of the current state, aware UTC."""
        return (EPOCH + timedelta(microseconds=self.now_us)).replace(tzinfo=UTC)

    def step(self, seconds: float) -> None:
        """Advance simulated time by `seconds`, in ticks of at most 15 s; never sleeps."""
        remaining_us = round(seconds * 1_000_000)
        if remaining_us <= 0:
            raise ValueError(f"step needs a positive duration, not {seconds!r} s")
        while remaining_us > 0:
            tick_us = min(round(MAX_TICK_S * 1_000_000), remaining_us)
            remaining_us -= tick_us
            self.now_us += tick_us
            self._tick(tick_us / 1_000_000)

    def render(self) -> tuple[datetime, bytes, bytes]:
        """Update timestamp, data-feed bytes and transceivers-feed bytes of the current state."""
        data, transceivers = self.documents()
        return self.now, orjson.dumps(data), orjson.dumps(transceivers)

    def phase_counts(self) -> Counter[str]:
        """How many connected pilots are in each phase (gate, taxi, climb, cruise, ...)."""
        return Counter(flight.phase_name() for flight in self.flights)

    # -- how the population changes -------------------------------------------------------

    def _follow_rhythm(self) -> None:
        """With a daily rhythm: the population target and the departure airport weights
        of this moment, recomputed once per simulated quarter hour."""
        quarter_us = 15 * MINUTE_US
        if not self.daily_rhythm or self.now_us // quarter_us == self._weights_for_us:
            return
        self._weights_for_us = self.now_us // quarter_us
        now = self.now
        self.target_pilots = round(self.peak_pilots * network_share(now))
        self.target_controllers = round(self.peak_controllers * network_share(now))
        self._departure_weights = list(
            itertools.accumulate(
                REGION_WEIGHTS[a.region] * local_activity(a.longitude, now) for a in AIRPORTS
            )
        )

    def _tick(self, seconds: float) -> None:
        self._follow_rhythm()
        now, rng = self.now_us, self.rng
        staying, drop_chance = [], seconds / DROP_MEAN_S
        for flight in self.flights:
            if flight.advance(seconds, now):
                self._disconnect(flight)
            elif flight.phase == AIRBORNE and rng.random() < drop_chance:
                self._drop(flight)
            else:
                staying.append(flight)
        self.flights = staying
        back = [flight for flight in self.dropped if flight.connect_at_us <= now]
        for flight in back:
            self.dropped.remove(flight)
            self.stats["reconnected"] += 1
            self._connect(flight)
        self._fill_pilots()
        self._fill_controllers()

    def _fill_pilots(self) -> None:
        """Connect prefiled pilots whose time has come, or new ones, to keep the population."""
        rng, now = self.rng, self.now_us
        due = sorted(
            (flight for flight in self.pending if flight.connect_at_us <= now),
            key=lambda flight: flight.connect_at_us,
            reverse=True,
        )
        for _ in range(self.target_pilots - len(self.flights) - len(self.dropped)):
            if rng.random() < 0.5:
                if due:
                    flight = due.pop()
                    self.pending.remove(flight)
                else:
                    flight = self._new_flight()
                self._connect(flight)
        if len(self.pending) < self.target_pilots * PREFILE_SHARE and rng.random() < 0.5:
            self.pending.append(self._prefiled_flight())

    def _release(self, flight: Flight) -> None:
        self._cids.discard(flight.cid)
        self._callsigns.discard(flight.callsign)

    def _disconnect(self, flight: Flight) -> None:
        """A flight is over; some pilots file the way back under the same callsign."""
        self.stats["completed"] += 1
        if self.rng.random() >= 0.15:
            self._release(flight)
            return
        back = self._flight_between(flight.arr, flight.dep, flight.aircraft)
        self._identify(back, flight.cid, flight.callsign, flight.record["name"])
        back.connect_at_us = self.now_us + self.rng.randint(20, 60) * MINUTE_US
        back.prefiled_us = self.now_us
        self.pending.append(back)
        self.stats["returning"] += 1

    def _drop(self, flight: Flight) -> None:
        """A lost connection: most pilots are back within minutes, as a new connection."""
        self.stats["dropped"] += 1
        if self.rng.random() < 0.8:
            flight.connect_at_us = self.now_us + self.rng.randint(30, 240) * 1_000_000
            self.dropped.append(flight)
        else:
            self._release(flight)

    def _connect(self, flight: Flight, *, midway: bool = False) -> None:
        """Put a flight on the network, just now or (`midway`) somewhere along its way."""
        rng = self.rng
        elapsed_s = self._place_midway(flight) if midway else 0.0
        logon_us = self.now_us - round(elapsed_s * 1_000_000) - rng.randrange(1_000_000)
        if rng.random() < 0.9:
            flight.record["logon_time"] = feed_time(logon_us, rng.randrange(10))
        else:
            flight.record["logon_time"] = feed_time(logon_us)[:19] + "Z"
        if flight.phase == GATE and flight.until_us <= self.now_us:
            flight.until_us = self.now_us + rng.randint(5, 25) * MINUTE_US
        self.flights.append(flight)
        self.stats["connected"] += 1

    def _place_midway(self, flight: Flight) -> float:
        """Move a flight to a random moment of its gate-to-gate time; returns the time spent."""
        gate_s = self.rng.uniform(300, 1500)
        taxi_s = flight.takeoff_nm / flight.taxi_kt * 3600
        air_nm = flight.touchdown_nm - flight.takeoff_nm
        air_s = air_nm / (0.85 * flight.cruise_gs) * 3600
        moment = self.rng.uniform(0, gate_s + taxi_s + air_s + 600)
        if moment < gate_s:
            flight.until_us = self.now_us + round((gate_s - moment) * 1_000_000)
        elif moment < gate_s + taxi_s:
            flight.phase, flight.s = TAXI_OUT, (moment - gate_s) / 3600 * flight.taxi_kt
        elif moment < gate_s + taxi_s + air_s:
            flight.phase = AIRBORNE
            flight.s = flight.takeoff_nm + air_nm * (moment - gate_s - taxi_s) / air_s
        else:
            flight.phase, flight.s = TAXI_IN, flight.touchdown_nm + LANDING_ROLL_NM
        return moment

    # -- making flights and pilots --------------------------------------------------------

    def _new_flight(self) -> Flight:
        rng = self.rng
        dep = rng.choices(AIRPORTS, cum_weights=self._departure_weights)[0]
        nearby, *by_class = _DESTINATIONS[dep.icao]
        if nearby and rng.random() < 0.08:
            flight = self._flight_between(dep, rng.choice(nearby), GA_AIRCRAFT)
            callsign = self._ga_callsign(dep)
        else:
            trip = rng.choices(by_class, cum_weights=TRIP_CLASS_WEIGHTS)[0]
            arr = rng.choice(trip or [airport for trips in by_class for airport in trips])
            distance = _distance(dep, arr)
            types = [t for t in AIRCRAFT if t.min_nm <= distance <= t.max_nm]
            flight = self._flight_between(dep, arr, rng.choice(types))
            callsign = self._airline_callsign(dep, arr)
        self._identify(flight, self._new_cid(), callsign, self._pilot_name(dep))
        return flight

    def _prefiled_flight(self) -> Flight:
        flight = self._new_flight()
        flight.prefiled_us = self.now_us - self.rng.randint(0, 3600) * 1_000_000
        flight.connect_at_us = self.now_us + self.rng.randint(5, 60) * MINUTE_US
        return flight

    def _flight_between(self, dep: Airport, arr: Airport, aircraft: AircraftType) -> Flight:
        rng = self.rng
        distance = _distance(dep, arr)
        level = min(aircraft.ceiling_ft, max(5000, int(distance * 110))) // 1000 * 1000
        return Flight(
            dep=dep,
            arr=arr,
            aircraft=aircraft,
            taxi_kt=rng.randint(12, 20),
            takeoff_nm=rng.uniform(1.0, 3.0),
            taxi_in_nm=rng.uniform(0.8, 2.5),
            cruise_ft=4500 if aircraft is GA_AIRCRAFT else level,
            cruise_gs=max(90, aircraft.tas + round(rng.gauss(0, 25))),
            gate_heading=rng.randrange(360),
            arrived_wait_us=rng.randint(60, 480) * 1_000_000,
            com2_khz=rng.choice((None, None, 121_500, 123_450)),
        )

    def _identify(self, flight: Flight, cid: int, callsign: str, name: str) -> None:
        """Give a flight its pilot, plan and the fixed part of its record, in feed key order."""
        rng = self.rng
        flight.cid, flight.callsign = cid, callsign
        self._cids.add(cid)
        self._callsigns.add(callsign)
        aircraft, vfr = flight.aircraft, flight.aircraft is GA_AIRCRAFT
        enroute_s = flight.total_nm / aircraft.tas * 3600 + 600
        off_block = feed_time(self.now_us + rng.randint(5, 25) * MINUTE_US)
        squawk = "0000" if rng.random() < 0.1 else "".join(rng.choices("01234567", k=4))
        while squawk in EMERGENCY_SQUAWKS:  # a real emergency is an anomaly, not noise
            squawk = "".join(rng.choices("01234567", k=4))
        alternate = _ALTERNATES[flight.arr.icao]
        remarks = (
            f"PBN/A1B1C1D1S1S2 DOF/{off_block[2:10].replace('-', '')} REG/{self._letters(5)} "
            f"OPR/{callsign[:3]} PER/C RMK/TCAS SIMBRIEF /V/"
        )
        plan = {
            "flight_rules": "V" if vfr else "I",
            "aircraft": aircraft.equipment,
            "aircraft_faa": aircraft.faa,
            "aircraft_short": aircraft.short,
            "departure": flight.dep.icao,
            "arrival": flight.arr.icao,
            "alternate": "" if vfr or _distance(alternate, flight.arr) > 300 else alternate.icao,
            "cruise_tas": str(aircraft.tas),
            "altitude": str(flight.cruise_ft),
            "deptime": off_block[11:16].replace(":", ""),
            "enroute_time": _hhmm(enroute_s),
            "fuel_time": _hhmm(enroute_s + 4500),
            "remarks": "/V/" if vfr else remarks,
            "route": "DCT",
            "revision_id": rng.randint(1, 3),
            "assigned_transponder": squawk,
        }
        qnh_mb = round(rng.gauss(1015, 8))
        flight.record = {
            "cid": cid,
            "name": name,
            "callsign": callsign,
            "server": self._server(flight.dep),
            "pilot_rating": rng.choices(RATING_WEIGHTS[0], cum_weights=RATING_WEIGHTS[1])[0],
            "military_rating": 0 if rng.random() < 0.97 else rng.choice((1, 3, 7, 15)),
            "latitude": 0.0,
            "longitude": 0.0,
            "altitude": 0,
            "groundspeed": 0,
            "transponder": squawk if squawk != "0000" else rng.choice(("2000", "1200", "7000")),
            "heading": 0,
            "qnh_i_hg": round(qnh_mb / 33.8639, 2),
            "qnh_mb": qnh_mb,
            "flight_plan": plan,
            "logon_time": "",
            "last_updated": "",
        }

    def _new_cid(self) -> int:
        while True:
            cid = self.rng.randint(810_000, 1_999_999)
            if cid not in self._cids:
                return cid

    def _pilot_name(self, home: Airport) -> str:
        style = self.rng.random()
        if style < 0.1:
            return str(self.rng.randint(810_000, 1_999_999))
        name = self._person_name()
        return f"{name} {home.icao}" if style < 0.6 else name

    def _person_name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES.split())} {self.rng.choice(LAST_NAMES.split())}"

    def _letters(self, count: int) -> str:
        return "".join(self.rng.choices(string.ascii_uppercase, k=count))

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            callsign = make()
            if callsign not in self._callsigns:
                return callsign

    def _airline_callsign(self, dep: Airport, arr: Airport) -> str:
        rng = self.rng
        airline = rng.choice(AIRLINES[dep.region if rng.random() < 0.75 else arr.region].split())
        return self._unique(
            lambda: (
                f"{airline}{rng.randint(1, 2999)}"
                + (self._letters(2) if rng.random() < 0.15 else "")
            )
        )

    def _ga_callsign(self, dep: Airport) -> str:
        if dep.region == "NA":
            return self._unique(lambda: f"N{self.rng.randint(100, 999)}{self._letters(2)}")
        nation = {"EG": "G", "ED": "D", "LF": "F", "EH": "PH", "LS": "HB"}.get(dep.icao[:2], "OE")
        return self._unique(lambda: nation + self._letters(5 - len(nation)))

    def _server(self, where: Airport) -> str:
        return self.rng.choice(SERVERS_BY_REGION.get(where.region, ALL_SERVERS))

    # -- controllers ----------------------------------------------------------------------

    def _fill_controllers(self) -> None:
        for session in [s for s in self.sessions if s.until_us <= self.now_us]:
            self.sessions.remove(session)
            self._staffed.discard(session.station.callsign)
            if session.atis is not None:
                self._staffed.discard(session.atis.station.callsign)
            self._cids.discard(session.cid)
            self.stats["controller_logoffs"] += 1
        for _ in range(self.target_controllers - len(self.sessions)):
            if self.rng.random() < 0.5:
                self._log_on(already_for_s=0.0)

    def _log_on(self, already_for_s: float) -> None:
        """A controller takes a free station (or observes) for 20 minutes to 4 hours."""
        rng = self.rng
        cid = self._new_cid()
        self._cids.add(cid)
        if rng.random() < 0.08:
            station = self._observer_station(cid)
        else:
            station = rng.choices(self.stations, cum_weights=self._station_weights)[0]
            while station.callsign in self._staffed:
                station = rng.choices(self.stations, cum_weights=self._station_weights)[0]
            self._staffed.add(station.callsign)
        logon_us = self.now_us - round(already_for_s * 1_000_000) - rng.randrange(1_000_000)
        until_us = self.now_us + rng.randint(20 * 60, 4 * 3600) * 1_000_000
        base = {0: 1, DEL: 2, GND: 2, TWR: 3, APP: 4, CTR: 5}[station.facility]
        person = {
            "cid": cid,
            "name": self._person_name(),
            "rating": base + rng.choice((0, 0, 0, 1, 2)),
            "server": self._server(self._airport_near(station)),
        }
        session = Session(
            station, cid, self._controller_record(station, person, logon_us), until_us
        )
        atis = ATIS_STATIONS.get(station.airport or "")
        runs_atis = station.facility in (TWR, APP) and atis and rng.random() < 0.8
        if atis and runs_atis and atis.callsign not in self._staffed:
            self._staffed.add(atis.callsign)
            atis_logon_us = logon_us + rng.randint(5, 90) * 1_000_000
            record = self._controller_record(atis, person, atis_logon_us)
            session.atis = Session(atis, cid, record, until_us)
        self.sessions.append(session)
        self.stats["controller_logons"] += 1

    def _controller_record(self, station: Station, person: dict, logon_us: int) -> dict:
        """The fixed part of a controller or ATIS record, in feed key order."""
        record = {
            "cid": person["cid"],
            "name": person["name"],
            "callsign": station.callsign,
            "frequency": f"{station.khz // 1000}.{station.khz % 1000:03d}",
            "facility": station.facility,
            "rating": person["rating"],
            "server": person["server"],
            "visual_range": station.visual_range,
        }
        if station.callsign.endswith("_ATIS"):
            record["atis_code"] = None
            record["text_atis"] = None
        elif station.facility and self.rng.random() < 0.6:
            record["text_atis"] = [station.title, "Simulated by the vatsim-pipeline feed server"]
        else:
            record["text_atis"] = None
        record["last_updated"] = ""
        record["logon_time"] = feed_time(logon_us, self.rng.randrange(10))
        return record

    def _observer_station(self, cid: int) -> Station:
        airport = self.rng.choice(AIRPORTS)
        radio = (airport.latitude, airport.longitude, airport.elevation_ft * FEET_TO_M, 0.0)
        return Station(
            callsign=f"{cid}_OBS",
            facility=0,
            khz=OBSERVER_KHZ,
            visual_range=300,
            airport=None,
            latitude=airport.latitude,
            longitude=airport.longitude,
            radius_nm=0,
            title="Observer",
            transceivers=(radio,),
        )

    @staticmethod
    def _airport_near(station: Station) -> Airport:
        if station.airport:
            return AIRPORTS_BY_ICAO[station.airport]
        return min(
            AIRPORTS,
            key=lambda a: abs(a.latitude - station.latitude) + abs(a.longitude - station.longitude),
        )

    # -- rendering ------------------------------------------------------------------------

    def documents(self) -> tuple[dict, list]:
        """The data feed and the transceivers feed of the current state, as JSON values.

        The collector is paused meanwhile: the new records hold no cycles, and tracing a
        heap of tens of thousands of flights on every few hundred allocations would cost
        more than building them.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._documents()
        finally:
            if collecting:
                gc.enable()

    def _documents(self) -> tuple[dict, list]:
        now = self.now_us
        stamps = [feed_time(now - k * 937_000, k % 10) for k in range(16)]
        tuning = _Tuning(self.sessions)
        pilots, stations = [], []
        for index, flight in enumerate(self.flights):
            lat, lon, heading = flight.position()
            altitude = flight.altitude()
            pilots.append(
                {
                    **flight.record,
                    "latitude": round(lat, 5),
                    "longitude": round(lon, 5),
                    "altitude": altitude,
                    "groundspeed": flight.groundspeed(altitude),
                    "heading": heading,
                    "last_updated": stamps[index & 15],
                }
            )
            stations.append(tuning.pilot_radios(flight, lat, lon, altitude))
        controllers, atis = [], []
        for index, session in enumerate(self.sessions):
            controllers.append({**session.record, "last_updated": stamps[index & 15]})
            stations.append(_station_radios(session.station))
            if session.atis is not None:
                code, lines = _atis_text(session.atis.station, now)
                atis.append(
                    {
                        **session.atis.record,
                        "atis_code": code,
                        "text_atis": lines,
                        "last_updated": stamps[index & 15],
                    }
                )
                stations.append(_station_radios(session.atis.station))
        prefiles = [
            {
                "cid": flight.cid,
                "name": flight.record["name"],
                "callsign": flight.callsign,
                "flight_plan": flight.record["flight_plan"],
                "last_updated": feed_time(flight.prefiled_us),
            }
            for flight in self.pending
        ]
        update = feed_time(now, now % 7)
        general = {
            "version": 3,
            "reload": 1,
            "update": "".join(ch for ch in update[:19] if ch.isdigit()),
            "update_timestamp": update,
            "connected_clients": len(pilots) + len(controllers) + len(atis),
            "unique_users": len({f.cid for f in self.flights} | {s.cid for s in self.sessions}),
        }
        data = {
            "general": general,
            "pilots": pilots,
            "controllers": controllers,
            "atis": atis,
            "servers": SERVERS,
            "prefiles": prefiles,
            "facilities": FACILITIES,
            "ratings": RATINGS,
            "pilot_ratings": PILOT_RATINGS,
            "military_ratings": MILITARY_RATINGS,
        }
        return data, stations


def _radio(number: int, khz: int, lat: float, lon: float, msl: float, agl: float) -> dict:
    return {
        "id": number,
        "frequency": khz * 1000,
        "latDeg": lat,
        "lonDeg": lon,
        "heightMslM": msl,
        "heightAglM": agl,
    }


@functools.cache
def _station_radios(station: Station) -> dict:
    radios = [
        _radio(number, station.khz, *where) for number, where in enumerate(station.transceivers)
    ]
    return {"callsign": station.callsign, "transceivers": radios}


def _atis_text(station: Station, now_us: int) -> tuple[str, list[str]]:
    """Information letter (a new one every 30 minutes) and text of an airport's ATIS."""
    half_hours = now_us // (30 * MINUTE_US)
    icao = station.airport or station.callsign[:4]
    rng = random.Random(f"{icao}:{half_hours}")
    code = string.ascii_uppercase[(half_hours + sum(map(ord, icao))) % 26]
    issued = feed_time(half_hours * 30 * MINUTE_US)[11:16].replace(":", "")
    wind = f"{rng.randrange(0, 360, 10):03d}{rng.randint(2, 18):02d}KT"
    weather = (
        f"9999 FEW035 {rng.randint(5, 28):02d}/{rng.randint(0, 15):02d} Q{rng.randint(998, 1030)}"
    )
    return code, [
        f"{icao} ATIS INFO {code} {issued}Z",
        f"{wind} {weather}",
        f"ADVISE ON INITIAL CONTACT YOU HAVE INFO {code}",
    ]


class _Tuning:
    """Which frequency a pilot would be on: the controller working it there, or UNICOM.

    Airport positions are looked up by airport, top-down (a missing ground controller's
    traffic talks to the tower, and so on); centres through a coarse grid. Each pilot
    costs a few dictionary look-ups however many controllers are online.
    """

    GRID_DEG = 5
    ON_GROUND = {
        GATE: (DEL, GND, TWR, APP),
        TAXI_OUT: (GND, TWR, APP),
        LANDING: (TWR, APP),
        TAXI_IN: (GND, TWR, APP),
        ARRIVED: (GND, TWR, APP),
    }

    def __init__(self, sessions: list[Session]) -> None:
        self.airports: dict[str, dict[int, int]] = {}
        self.grid: dict[tuple[int, int], list[Station]] = {}
        covered: set[tuple[float, float]] = set()
        for session in sessions:
            station = session.station
            if station.airport:
                online = self.airports.setdefault(station.airport, {})
                online.setdefault(station.facility, station.khz)
            elif station.facility == CTR and (station.latitude, station.longitude) not in covered:
                covered.add((station.latitude, station.longitude))
                self._cover(station)

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        columns = 360 // self.GRID_DEG
        column = math.floor(lon / self.GRID_DEG) + columns // 2
        return math.floor(lat / self.GRID_DEG), column % columns

    def _cover(self, station: Station) -> None:
        span_lat = station.radius_nm / 60.0
        span_lon = min(180.0, span_lat / max(0.05, math.cos(math.radians(station.latitude))))
        step = self.GRID_DEG / 2
        cells = {
            self._cell(station.latitude + i * step, station.longitude + j * step)
            for i in range(-math.ceil(span_lat / step), math.ceil(span_lat / step) + 1)
            for j in range(-math.ceil(span_lon / step), math.ceil(span_lon / step) + 1)
        }
        for cell in cells:
            self.grid.setdefault(cell, []).append(station)

    def _airport(self, icao: str, order: tuple[int, ...]) -> int | None:
        online = self.airports.get(icao)
        if online:
            for facility in order:
                if facility in online:
                    return online[facility]
        return None

    def _centre(self, lat: float, lon: float) -> int | None:
        for station in self.grid.get(self._cell(lat, lon), ()):
            dy = (lat - station.latitude) * 60.0
            dx = ((lon - station.longitude + 540.0) % 360.0 - 180.0) * 60.0
            dx *= math.cos(math.radians(lat))
            if dx * dx + dy * dy <= station.radius_nm * station.radius_nm:
                return station.khz
        return None

    def frequency(self, flight: Flight, lat: float, lon: float) -> int:
        """kHz of COM1: airport positions near the ends of the trip, else a centre, else UNICOM."""
        khz = None
        if flight.phase == AIRBORNE:
            climbed = flight.s - flight.takeoff_nm
            to_go = flight.touchdown_nm - flight.s
            if climbed < 40 and climbed < to_go:
                khz = self._airport(flight.dep.icao, (TWR, APP) if climbed < 8 else (APP,))
            elif to_go < 40:
                khz = self._airport(flight.arr.icao, (TWR, APP) if to_go < 10 else (APP,))
        else:
            icao = flight.dep.icao if flight.phase <= TAXI_OUT else flight.arr.icao
            khz = self._airport(icao, self.ON_GROUND[flight.phase])
        return khz or self._centre(lat, lon) or UNICOM_KHZ

    def pilot_radios(self, flight: Flight, lat: float, lon: float, altitude: int) -> dict:
        """The pilot's station in the transceivers feed: COM1, and COM2 when it has one."""
        msl = altitude * FEET_TO_M
        agl = max(0.0, (altitude - flight.ground_ft()) * FEET_TO_M)
        com1 = {
            "id": 1,
            "frequency": self.frequency(flight, lat, lon) * 1000,
            "latDeg": lat,
            "lonDeg": lon,
            "heightMslM": msl,
            "heightAglM": agl,
        }
        if not flight.com2_khz:
            return {"callsign": flight.callsign, "transceivers": [com1]}
        com2 = {**com1, "id": 2, "frequency": flight.com2_khz * 1000}
        return {"callsign": flight.callsign, "transceivers": [com1, com2]}
