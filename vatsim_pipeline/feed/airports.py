"""Where things are, for the local feed server: major airports, FIR centres, the ATC
positions at them, and the great-circle arithmetic over them.

The tables are facts (positions from VATSpy and the airports' published data) kept small
on purpose: the simulator needs believable places to fly between and to staff, not a
navigation database. FIRs are approximated by a circle around their label point, which
is good enough to decide which centre controller a simulated pilot would talk to.
Station frequencies are made up, but fixed: each comes from a generator seeded by the
station's callsign, so a station is the same in every simulation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

EARTH_RADIUS_NM = 3440.065
FEET_TO_M = 0.3048
DEL, GND, TWR, APP, CTR = 2, 3, 4, 5, 6


@dataclass(frozen=True, slots=True)
class Airport:
    """An airport, with the callsign prefix its controllers use on VATSIM."""

    icao: str
    name: str
    latitude: float
    longitude: float
    elevation_ft: int
    prefix: str

    @property
    def region(self) -> str:
        """Coarse world region from the ICAO prefix, used to pick airlines and servers."""
        return region_of(self.icao)


@dataclass(frozen=True, slots=True)
class Fir:
    """A flight information region staffed by a `<callsign>` centre controller."""

    callsign: str
    icao: str
    name: str
    latitude: float
    longitude: float
    radius_nm: float


def _airport(icao: str, name: str, lat: float, lon: float, elev: int, prefix: str = "") -> Airport:
    return Airport(icao, name, lat, lon, elev, prefix or icao)


AIRPORTS: tuple[Airport, ...] = (
    _airport("EGLL", "London Heathrow", 51.4775, -0.461389, 83),
    _airport("EGKK", "London Gatwick", 51.148056, -0.190278, 202),
    _airport("EGCC", "Manchester", 53.353744, -2.27495, 257),
    _airport("EIDW", "Dublin", 53.421333, -6.270075, 242),
    _airport("EHAM", "Amsterdam Schiphol", 52.308613, 4.763889, -11),
    _airport("EBBR", "Brussels", 50.901389, 4.484444, 184),
    _airport("EDDF", "Frankfurt", 50.033333, 8.570556, 364),
    _airport("EDDM", "Munich", 48.353783, 11.786086, 1487),
    _airport("EDDB", "Berlin Brandenburg", 52.366667, 13.503333, 157),
    _airport("LFPG", "Paris Charles de Gaulle", 49.012779, 2.55, 392),
    _airport("LSZH", "Zurich", 47.464722, 8.549167, 1416),
    _airport("LOWW", "Vienna", 48.110278, 16.569722, 600),
    _airport("LEMD", "Madrid Barajas", 40.472231, -3.560944, 1998),
    _airport("LEBL", "Barcelona", 41.297078, 2.078464, 12),
    _airport("LPPT", "Lisbon", 38.781311, -9.135919, 374),
    _airport("LIRF", "Rome Fiumicino", 41.804475, 12.250797, 13),
    _airport("LGAV", "Athens", 37.936358, 23.944467, 308),
    _airport("LTFM", "Istanbul", 41.275277, 28.75194, 325),
    _airport("EKCH", "Copenhagen Kastrup", 55.617917, 12.655972, 17),
    _airport("ESSA", "Stockholm Arlanda", 59.651944, 17.918611, 137),
    _airport("ENGM", "Oslo Gardermoen", 60.193917, 11.100361, 681),
    _airport("EFHK", "Helsinki Vantaa", 60.317222, 24.963333, 179),
    _airport("EPWA", "Warsaw Chopin", 52.16575, 20.967122, 362),
    _airport("KJFK", "New York John F. Kennedy", 40.63975, -73.778925, 13, "JFK"),
    _airport("KEWR", "Newark Liberty", 40.6925, -74.168667, 18, "EWR"),
    _airport("KBOS", "Boston Logan", 42.364347, -71.005181, 20, "BOS"),
    _airport("KIAD", "Washington Dulles", 38.944533, -77.455811, 313, "IAD"),
    _airport("KATL", "Atlanta Hartsfield-Jackson", 33.636719, -84.428067, 1026, "ATL"),
    _airport("KMIA", "Miami", 25.79325, -80.290556, 8, "MIA"),
    _airport("KORD", "Chicago O'Hare", 41.978603, -87.904842, 672, "ORD"),
    _airport("KDFW", "Dallas Fort Worth", 32.896828, -97.037997, 607, "DFW"),
    _airport("KDEN", "Denver", 39.861656, -104.673178, 5434, "DEN"),
    _airport("KPHX", "Phoenix Sky Harbor", 33.434278, -112.011583, 1135, "PHX"),
    _airport("KLAS", "Las Vegas Harry Reid", 36.080056, -115.15225, 2181, "LAS"),
    _airport("KLAX", "Los Angeles", 33.942536, -118.408075, 128, "LAX"),
    _airport("KSFO", "San Francisco", 37.618972, -122.374889, 13, "SFO"),
    _airport("KSEA", "Seattle-Tacoma", 47.449, -122.309306, 433, "SEA"),
    _airport("CYYZ", "Toronto Pearson", 43.677222, -79.630556, 569),
    _airport("CYVR", "Vancouver", 49.193889, -123.184444, 14),
    _airport("MMMX", "Mexico City", 19.436303, -99.072097, 7316),
    _airport("SBGR", "Sao Paulo Guarulhos", -23.435556, -46.473056, 2459),
    _airport("SAEZ", "Buenos Aires Ezeiza", -34.822222, -58.535833, 67),
    _airport("SCEL", "Santiago", -33.392975, -70.785803, 1555),
    _airport("GMMN", "Casablanca Mohammed V", 33.367467, -7.589967, 656),
    _airport("HECA", "Cairo", 30.121944, 31.405556, 382),
    _airport("FAOR", "Johannesburg O. R. Tambo", -26.139166, 28.246, 5558),
    _airport("OMDB", "Dubai", 25.252778, 55.364444, 62),
    _airport("OTHH", "Doha Hamad", 25.273056, 51.608056, 13),
    _airport("VIDP", "Delhi Indira Gandhi", 28.5665, 77.103088, 777),
    _airport("VTBS", "Bangkok Suvarnabhumi", 13.681108, 100.747283, 5),
    _airport("WSSS", "Singapore Changi", 1.350189, 103.994433, 22),
    _airport("VHHH", "Hong Kong", 22.308919, 113.914603, 28),
    _airport("ZSPD", "Shanghai Pudong", 31.143378, 121.805214, 13),
    _airport("ZBAA", "Beijing Capital", 40.080111, 116.584556, 116),
    _airport("RKSI", "Seoul Incheon", 37.469075, 126.450517, 23),
    _airport("RJTT", "Tokyo Haneda", 35.552258, 139.779694, 35),
    _airport("RJAA", "Tokyo Narita", 35.764722, 140.386389, 141),
    _airport("YSSY", "Sydney Kingsford Smith", -33.946111, 151.177222, 21, "SY"),
    _airport("YMML", "Melbourne", -37.673333, 144.843333, 434, "ML"),
    _airport("YBBN", "Brisbane", -27.384167, 153.1175, 13, "BN"),
    _airport("NZAA", "Auckland", -37.019217, 174.770674, 23),
)

FIRS: tuple[Fir, ...] = (
    Fir("EDGG_CTR", "EDGG", "Langen Radar", 50.28, 8.25, 130),
    Fir("EDMM_CTR", "EDMM", "Muenchen Radar", 49.0, 11.8, 130),
    Fir("EDWW_CTR", "EDWW", "Bremen Radar", 52.8, 10.8, 150),
    Fir("LON_S_CTR", "EGTT", "London Control", 51.2, -0.6, 100),
    Fir("LON_C_CTR", "EGTT", "London Control", 52.6, -1.5, 100),
    Fir("SCO_CTR", "EGPX", "Scottish Control", 56.5, -4.0, 180),
    Fir("EISN_CTR", "EISN", "Shannon Control", 53.0, -8.5, 180),
    Fir("EHAA_CTR", "EHAA", "Amsterdam Radar", 52.4, 5.0, 90),
    Fir("LFFF_CTR", "LFFF", "Paris Control", 48.82, 2.75, 150),
    Fir("LSAS_CTR", "LSAS", "Swiss Radar", 46.76, 7.86, 90),
    Fir("LOVV_CTR", "LOVV", "Wien Radar", 47.8, 14.5, 140),
    Fir("LECM_CTR", "LECM", "Madrid Control", 40.5, -3.6, 200),
    Fir("LPPC_CTR", "LPPC", "Lisboa Control", 39.5, -8.5, 200),
    Fir("LIRR_CTR", "LIRR", "Roma Control", 41.5, 12.5, 180),
    Fir("LGGG_CTR", "LGGG", "Athinai Control", 37.5, 24.0, 250),
    Fir("LTBB_CTR", "LTBB", "Istanbul Control", 40.0, 29.0, 250),
    Fir("EKDK_CTR", "EKDK", "Copenhagen Control", 55.8, 11.0, 150),
    Fir("ESAA_CTR", "ESAA", "Sweden Control", 60.5, 16.5, 300),
    Fir("ENOR_CTR", "ENOR", "Polaris Control", 61.0, 10.0, 300),
    Fir("EFIN_CTR", "EFIN", "Helsinki Control", 62.0, 25.5, 250),
    Fir("EPWW_CTR", "EPWW", "Warszawa Radar", 52.0, 19.0, 180),
    Fir("KZNY_CTR", "KZNY", "New York Center", 40.5, -74.0, 100),
    Fir("BOS_CTR", "KZBW", "Boston Center", 42.8, -71.5, 150),
    Fir("DC_CTR", "KZDC", "Washington Center", 38.5, -77.0, 150),
    Fir("ATL_CTR", "KZTL", "Atlanta Center", 33.6, -84.3, 170),
    Fir("MIA_CTR", "KZMA", "Miami Center", 26.5, -80.8, 180),
    Fir("CHI_CTR", "KZAU", "Chicago Center", 41.9, -88.5, 150),
    Fir("FTW_CTR", "KZFW", "Fort Worth Center", 32.9, -97.3, 180),
    Fir("DEN_CTR", "KZDV", "Denver Center", 39.9, -105.5, 200),
    Fir("LAX_CTR", "KZLA", "Los Angeles Center", 34.3, -117.5, 180),
    Fir("OAK_CTR", "KZOA", "Oakland Center", 37.9, -121.5, 200),
    Fir("SEA_CTR", "KZSE", "Seattle Center", 47.0, -121.5, 200),
    Fir("TOR_CTR", "CZYZ", "Toronto Centre", 44.0, -79.8, 200),
    Fir("VAN_CTR", "CZVR", "Vancouver Centre", 49.5, -123.0, 200),
    Fir("MMFR_CTR", "MMFR", "Mexico Control", 20.0, -99.5, 250),
    Fir("SBBS_CTR", "SBBS", "Brasilia Center", -20.0, -47.0, 300),
    Fir("SAEF_CTR", "SAEF", "Ezeiza Control", -34.8, -58.5, 250),
    Fir("SCEZ_CTR", "SCEZ", "Santiago Control", -33.4, -70.8, 200),
    Fir("GMMM_CTR", "GMMM", "Casablanca Control", 33.0, -7.5, 200),
    Fir("HECC_CTR", "HECC", "Cairo Control", 30.0, 31.3, 200),
    Fir("FAJA_CTR", "FAJA", "Johannesburg Control", -26.5, 28.0, 200),
    Fir("OMAE_CTR", "OMAE", "Emirates Control", 24.6, 54.5, 180),
    Fir("OTDF_CTR", "OTDF", "Doha Control", 25.6, 51.5, 100),
    Fir("VIDF_CTR", "VIDF", "Delhi Control", 28.5, 77.0, 250),
    Fir("VTBB_CTR", "VTBB", "Bangkok Control", 13.5, 100.5, 250),
    Fir("WSJC_CTR", "WSJC", "Singapore Control", 2.0, 104.0, 200),
    Fir("VHHK_CTR", "VHHK", "Hong Kong Radar", 21.5, 114.5, 150),
    Fir("ZSHA_CTR", "ZSHA", "Shanghai Control", 31.0, 121.0, 250),
    Fir("ZBPE_CTR", "ZBPE", "Beijing Control", 40.0, 116.0, 250),
    Fir("RKRR_CTR", "RKRR", "Incheon Control", 36.5, 127.5, 200),
    Fir("RJJJ_CTR", "RJJJ", "Tokyo Control", 35.5, 139.5, 250),
)

AIRPORTS_BY_ICAO: dict[str, Airport] = {airport.icao: airport for airport in AIRPORTS}
AIRPORTS_BY_PREFIX: dict[str, Airport] = {airport.prefix: airport for airport in AIRPORTS}
FIRS_BY_CALLSIGN: dict[str, Fir] = {fir.callsign: fir for fir in FIRS}

# Coarse world regions by the first letter of the ICAO location indicator.
_REGIONS = {
    **dict.fromkeys("ELU", "EU"),
    **dict.fromkeys("KCMPT", "NA"),
    "S": "SA",
    **dict.fromkeys("FGHD", "AF"),
    "O": "ME",
    **dict.fromkeys("VWRZ", "AS"),
    **dict.fromkeys("YNA", "OC"),
}


def region_of(icao: str) -> str:
    """`EU`, `NA`, `SA`, `AF`, `ME`, `AS` or `OC` for an ICAO location indicator."""
    return _REGIONS.get(icao[:1], "EU")


def locate(callsign: str) -> tuple[float, float, float] | None:
    """Reference point and radius (nm) of an ATC callsign, when the tables know it.

    `EDDF_TWR`, `JFK_APP`, `EDGG_CTR` and `LON_S_CTR` are found; anything else is None.
    """
    fir = FIRS_BY_CALLSIGN.get(callsign)
    if fir is not None:
        return fir.latitude, fir.longitude, fir.radius_nm
    prefix = callsign.split("_", 1)[0]
    airport = AIRPORTS_BY_ICAO.get(prefix) or AIRPORTS_BY_PREFIX.get(prefix)
    if airport is not None:
        return airport.latitude, airport.longitude, 60.0
    for fir in FIRS:
        if prefix in (fir.icao, fir.callsign.split("_", 1)[0]):
            return fir.latitude, fir.longitude, fir.radius_nm
    return None


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    """The point on the unit sphere, for interpolating along great circles."""
    phi, lam = math.radians(latitude), math.radians(longitude)
    cos_phi = math.cos(phi)
    return cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)


def distance_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in nautical miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial true course from the first point to the second, 0 to 360."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlam = math.radians(lon2 - lon1)
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    return math.degrees(math.atan2(y, x)) % 360.0


def offset(latitude: float, longitude: float, bearing: float, nm: float) -> tuple[float, float]:
    """The point `nm` nautical miles from a point along an initial `bearing` (degrees)."""
    delta = nm / EARTH_RADIUS_NM
    phi, lam, theta = math.radians(latitude), math.radians(longitude), math.radians(bearing)
    phi2 = math.asin(
        math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0


@dataclass(frozen=True, slots=True)
class Station:
    """An ATC position that can be staffed: where it is, its frequency and its radios.

    `transceivers` are `(lat, lon, height MSL m, height AGL m)`; `radius_nm` is the area
    it works, around `latitude`/`longitude`.
    """

    callsign: str
    facility: int
    khz: int
    visual_range: int
    airport: str | None
    latitude: float
    longitude: float
    radius_nm: float
    title: str
    transceivers: tuple[tuple[float, float, float, float], ...]


_AIRPORT_POSITIONS = {
    # facility: (callsign suffix, title, visual range, radius nm, lowest kHz, highest kHz)
    DEL: ("DEL", "Delivery", 20, 5, 121_600, 122_000),
    GND: ("GND", "Ground", 20, 5, 121_600, 122_000),
    TWR: ("TWR", "Tower", 50, 15, 118_000, 120_000),
    APP: ("APP", "Approach", 150, 60, 120_000, 128_000),
}


def atc_stations(needed: int) -> list[Station]:
    """DEL, GND, TWR, APP at every airport and every FIR centre, plus split positions
    (`EDDF_N_APP`, `EDGG_1_CTR`) until at least `needed` are free to staff at once."""
    stations: list[Station] = []
    split = 0
    while len(stations) * 0.7 < needed or not stations:
        for airport in AIRPORTS:
            stations += _airport_stations(airport, split)
        stations += [_centre(fir, split) for fir in FIRS]
        split += 1
    return stations


def _airport_stations(airport: Airport, split: int) -> list[Station]:
    infix = f"{'NSEWFDC'[(split - 1) % 7]}{(split - 1) // 7 or ''}_" if split else ""
    rng = random.Random(f"station:{airport.icao}:{split}")
    elevation_m = airport.elevation_ft * FEET_TO_M
    stations, used = [], set()
    for facility, (suffix, title, visual, radius, low, high) in _AIRPORT_POSITIONS.items():
        khz = rng.randrange(low, high, 25)
        while khz in used:
            khz = rng.randrange(low, high, 25)
        used.add(khz)
        radios = [(airport.latitude, airport.longitude, elevation_m + 15, 15.0)]
        if facility == APP:
            lat, lon = offset(airport.latitude, airport.longitude, rng.uniform(0, 360), 15)
            radios.append((lat, lon, elevation_m + 30, 30.0))
        stations.append(
            Station(
                callsign=f"{airport.prefix}_{infix}{suffix}",
                facility=facility,
                khz=khz,
                visual_range=visual,
                airport=airport.icao,
                latitude=airport.latitude,
                longitude=airport.longitude,
                radius_nm=radius,
                title=f"{airport.name} {title}",
                transceivers=tuple(radios),
            )
        )
    return stations


def _centre(fir: Fir, split: int) -> Station:
    callsign = f"{fir.callsign[:-4]}_{split}_CTR" if split else fir.callsign
    rng = random.Random(f"station:{callsign}")
    radios = []
    for _ in range(rng.randint(3, 6)):
        distance = rng.uniform(0, 0.6) * fir.radius_nm
        lat, lon = offset(fir.latitude, fir.longitude, rng.uniform(0, 360), distance)
        radios.append((lat, lon, float(rng.randint(30, 600)), 30.0))
    return Station(
        callsign=callsign,
        facility=CTR,
        khz=rng.randrange(124_000, 136_000, 25),
        visual_range=600,
        airport=None,
        latitude=fir.latitude,
        longitude=fir.longitude,
        radius_nm=fir.radius_nm,
        title=fir.name,
        transceivers=tuple(radios),
    )


def _atis(airport: Airport) -> Station:
    khz = random.Random(f"station:{airport.icao}:atis").randrange(126_000, 129_000, 25)
    height = airport.elevation_ft * FEET_TO_M + 15
    return Station(
        callsign=f"{airport.icao}_ATIS",
        facility=TWR,
        khz=khz,
        visual_range=0,
        airport=airport.icao,
        latitude=airport.latitude,
        longitude=airport.longitude,
        radius_nm=5,
        title=f"{airport.name} ATIS",
        transceivers=((airport.latitude, airport.longitude, height, 15.0),),
    )


ATIS_STATIONS: dict[str, Station] = {airport.icao: _atis(airport) for airport in AIRPORTS}
