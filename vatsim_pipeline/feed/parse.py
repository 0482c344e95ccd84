"""One pass from feed payload bytes to typed records.

Two kinds of trouble, kept apart on purpose:

- a payload that is not a feed at all (truncated JSON, an HTML error page, the wrong
  top-level shape) raises `PayloadError`: nothing of it may be stored;
- a record that cannot be true (latitude outside ±90, no callsign, a cid that is not a
  number) becomes a `Rejected` with its reason, and the rest of the snapshot stands.

Every other oddity of real payloads (null flight plans, fields missing in older feeds,
0 to 7 fractional digits, integer QNH, negative altitudes) is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from vatsim_pipeline.feed.models import (
    Controller,
    FlightPlan,
    Pilot,
    Prefile,
    Rejected,
    Server,
    Snapshot,
    Transceiver,
)
from vatsim_pipeline.gc_pause import without_gc

INT32_MAX = 2**31 - 1
REQUIRED_LISTS = ("pilots", "controllers")
OPTIONAL_LISTS = ("atis", "prefiles", "servers")

T = TypeVar("T")


class PayloadError(ValueError):
    """The payload is not a VATSIM feed; the message says what was found instead."""


class RecordError(ValueError):
    """One record holds a value that cannot be true."""


def parse_timestamp(value: Any) -> datetime:
    """Parse a feed timestamp (0 to 7 fractional digits, `Z` or an offset) to aware UTC."""
    if not isinstance(value, str) or not value:
        raise RecordError(f"timestamp {value!r} is not a string")
    text = value.strip()
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        if digits > 6:
            text = f"{head}.{tail[:6]}{tail[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise RecordError(f"timestamp {value!r} is not an ISO 8601 UTC time") from None


def _text(record: dict, key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if type(value) is str:
        return value if "\x00" not in value else value.replace("\x00", "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{key} {value!r} is not text")
    text = str(value)
    return text.replace("\x00", "") if "\x00" in text else text


def _int(record: dict, key: str, *, low: int = -INT32_MAX, high: int = INT32_MAX) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if type(value) is int and low <= value <= high:
        return value
    if isinstance(value, bool):
        raise RecordError(f"{key} {value!r} is not a number")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise RecordError(f"{key} {value!r} is not a number") from None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise RecordError(f"{key} {value!r} is not a whole number")
        value = int(value)
    if not isinstance(value, int):
        raise RecordError(f"{key} {value!r} is not a number")
    if not low <= value <= high:
        raise RecordError(f"{key} {value} is outside {low}..{high}")
    return value


def _float(record: dict, key: str, *, low: float, high: float) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{key} {value!r} is not a number")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise RecordError(f"{key} {value} is outside {low:g}..{high:g}")
    return value


def _required(value: T | None, key: str) -> T:
    if value is None:
        raise RecordError(f"{key} is missing")
    return value


def _callsign(record: dict) -> str:
    callsign = (_text(record, "callsign") or "").strip()
    if not callsign:
        raise RecordError("callsign is missing")
    return callsign


def _cid(record: dict) -> int:
    return _required(_int(record, "cid", low=1), "cid")


def _timestamp(record: dict, key: str) -> datetime | None:
    value = record.get(key)
    return None if value is None else parse_timestamp(value)


def _flight_plan(value: Any) -> FlightPlan | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError(f"flight_plan {value!r} is not an object")
    return FlightPlan(
        flight_rules=_text(value, "flight_rules"),
        aircraft=_text(value, "aircraft"),
        aircraft_faa=_text(value, "aircraft_faa"),
        aircraft_short=_text(value, "aircraft_short"),
        departure=_text(value, "departure"),
        arrival=_text(value, "arrival"),
        alternate=_text(value, "alternate"),
        cruise_tas=_text(value, "cruise_tas"),
        planned_altitude=_text(value, "altitude"),
        deptime=_text(value, "deptime"),
        enroute_time=_text(value, "enroute_time"),
        fuel_time=_text(value, "fuel_time"),
        remarks=_text(value, "remarks"),
        route=_text(value, "route"),
        revision_id=_int(value, "revision_id"),
        assigned_transponder=_text(value, "assigned_transponder"),
    )


def _qnh_i_hg(record: dict) -> float | None:
    return _float(record, "qnh_i_hg", low=-1e6, high=1e6)


def parse_pilot(record: dict) -> Pilot:
    """Validate one entry of `pilots`."""
    return Pilot(
        cid=_cid(record),
        callsign=_callsign(record),
        logon_time=_required(_timestamp(record, "logon_time"), "logon_time"),
        name=_text(record, "name"),
        server=_text(record, "server"),
        pilot_rating=_int(record, "pilot_rating"),
        military_rating=_int(record, "military_rating"),
        latitude=_required(_float(record, "latitude", low=-90.0, high=90.0), "latitude"),
        longitude=_required(_float(record, "longitude", low=-180.0, high=180.0), "longitude"),
        altitude=_int(record, "altitude"),
        groundspeed=_int(record, "groundspeed"),
        heading=_int(record, "heading", low=0, high=360),
        transponder=_text(record, "transponder"),
        qnh_i_hg=_qnh_i_hg(record),
        qnh_mb=_int(record, "qnh_mb"),
        last_updated=_timestamp(record, "last_updated"),
        flight_plan=_flight_plan(record.get("flight_plan")),
    )


def frequency_to_hz(text: str | None) -> int | None:
    """`"118.700"` (MHz, as the data feed writes it) to 118700000 Hz."""
    if not text:
        return None
    try:
        mhz = float(text)
    except ValueError:
        raise RecordError(f"frequency {text!r} is not a number") from None
    if not math.isfinite(mhz) or not 0 <= mhz < 1000:
        raise RecordError(f"frequency {text!r} is outside 0..1000 MHz")
    return round(mhz * 1_000_000)


def _controller(kind: str) -> Callable[[dict], Controller]:
    def parse(record: dict) -> Controller:
        text_atis = record.get("text_atis")
        if text_atis is not None:
            if not isinstance(text_atis, list) or not all(isinstance(x, str) for x in text_atis):
                raise RecordError("text_atis is not a list of lines")
            text_atis = "\n".join(text_atis).replace("\x00", "")
        frequency = _text(record, "frequency")
        return Controller(
            kind=kind,
            cid=_cid(record),
            callsign=_callsign(record),
            logon_time=_required(_timestamp(record, "logon_time"), "logon_time"),
            name=_text(record, "name"),
            server=_text(record, "server"),
            frequency=frequency,
            frequency_hz=frequency_to_hz(frequency),
            facility=_int(record, "facility"),
            rating=_int(record, "rating"),
            visual_range=_int(record, "visual_range"),
            atis_code=_text(record, "atis_code"),
            text_atis=text_atis,
            last_updated=_timestamp(record, "last_updated"),
        )

    return parse


def parse_prefile(record: dict) -> Prefile:
    """Validate one entry of `prefiles`; a prefile without a plan is meaningless."""
    return Prefile(
        cid=_cid(record),
        callsign=_callsign(record),
        name=_text(record, "name"),
        last_updated=_timestamp(record, "last_updated"),
        flight_plan=_required(_flight_plan(record.get("flight_plan")), "flight_plan"),
    )


def _flag(record: dict, key: str) -> bool | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool | int):
        return bool(value)
    raise RecordError(f"{key} {value!r} is not a flag")


def parse_server(record: dict) -> Server:
    """Validate one entry of `servers` (old feeds only have `clients_connection_allowed`)."""
    allowed = _flag(record, "client_connections_allowed")
    if allowed is None:
        allowed = _flag(record, "clients_connection_allowed")
    return Server(
        ident=_required(_text(record, "ident"), "ident"),
        hostname_or_ip=_text(record, "hostname_or_ip"),
        location=_text(record, "location"),
        name=_text(record, "name"),
        clients_connection_allowed=allowed,
        is_sweatbox=_flag(record, "is_sweatbox"),
    )


PARSERS: dict[str, Callable[[dict], Any]] = {
    "pilots": parse_pilot,
    "controllers": _controller("controller"),
    "atis": _controller("atis"),
    "prefiles": parse_prefile,
    "servers": parse_server,
}


def _raw(record: Any) -> str:
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return repr(record)


def _reject(section: str, index: int, record: Any, reason: str) -> Rejected:
    callsign = record.get("callsign") if isinstance(record, dict) else None
    return Rejected(
        section=section,
        index=index,
        callsign=callsign if isinstance(callsign, str) else None,
        reason=reason,
        raw=_raw(record),
    )


def _parse_section(section: str, entries: list, rejected: list[Rejected]) -> list:
    parse = PARSERS[section]
    records = []
    for index, record in enumerate(entries):
        if not isinstance(record, dict):
            rejected.append(_reject(section, index, record, "record is not an object"))
            continue
        try:
            records.append(parse(record))
        except RecordError as error:
            rejected.append(_reject(section, index, record, str(error)))
    return records


def load_json(payload: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        head = (
            payload[:40].decode("utf-8", "replace") if isinstance(payload, bytes) else payload[:40]
        )
        if not head.strip():
            raise PayloadError(f"{what} is empty") from None
        raise PayloadError(f"{what} is not JSON ({error}); it starts with {head!r}") from None


def update_timestamp_of(document: Any) -> datetime:
    """The `general.update_timestamp` that identifies a data-feed snapshot."""
    general = document.get("general") if isinstance(document, dict) else None
    if not isinstance(general, dict):
        raise PayloadError("data feed has no 'general' object")
    try:
        return parse_timestamp(general.get("update_timestamp"))
    except RecordError as error:
        raise PayloadError(f"data feed general.update_timestamp: {error}") from None


@without_gc
def parse_data_feed(payload: bytes | str) -> Snapshot:
    """Parse `vatsim-data.json`; raises `PayloadError` when it is not a data feed."""
    document = load_json(payload, "data feed")
    if not isinstance(document, dict):
        raise PayloadError(f"data feed is a JSON {type(document).__name__}, not an object")
    timestamp = update_timestamp_of(document)
    for section in REQUIRED_LISTS:
        if not isinstance(document.get(section), list):
            raise PayloadError(f"data feed has no '{section}' list")
    for section in OPTIONAL_LISTS:
        if document.get(section) is not None and not isinstance(document[section], list):
            raise PayloadError(f"data feed '{section}' is not a list")
    clients = document["general"].get("connected_clients")
    snapshot = Snapshot(
        update_timestamp=timestamp,
        connected_clients=clients if type(clients) is int else None,
    )
    rejected = snapshot.rejected
    snapshot.pilots = _parse_section("pilots", document["pilots"], rejected)
    snapshot.controllers = _parse_section("controllers", document["controllers"], rejected)
    snapshot.controllers += _parse_section("atis", document.get("atis") or [], rejected)
    snapshot.prefiles = _parse_section("prefiles", document.get("prefiles") or [], rejected)
    snapshot.servers = _parse_section("servers", document.get("servers") or [], rejected)
    return snapshot


def _transceiver(callsign: str, record: dict) -> Transceiver:
    return Transceiver(
        callsign=callsign,
        transceiver_id=_required(_int(record, "id", low=0), "id"),
        frequency_hz=_required(_int(record, "frequency", low=0), "frequency"),
        latitude=_required(_float(record, "latDeg", low=-90.0, high=90.0), "latDeg"),
        longitude=_required(_float(record, "lonDeg", low=-180.0, high=180.0), "lonDeg"),
        height_msl_m=_float(record, "heightMslM", low=-1e6, high=1e6),
        height_agl_m=_float(record, "heightAglM", low=-1e6, high=1e6),
    )


@without_gc
def parse_transceivers(payload: bytes | str, snapshot: Snapshot) -> None:
    """Parse `transceivers-data.json` into `snapshot`.

    The transceivers feed is secondary: when it is not a feed at all, the data snapshot
    is still stored, and the reason is set aside as one rejected record.
    """
    try:
        document = load_json(payload, "transceivers feed")
        if not isinstance(document, list):
            raise PayloadError(f"transceivers feed is a JSON {type(document).__name__}, not a list")
    except PayloadError as error:
        snapshot.rejected.append(
            Rejected("transceivers", -1, None, str(error), _raw(str(payload[:200])))
        )
        return
    index = 0
    seen: set[tuple[str, int]] = set()
    for station in document:
        if not isinstance(station, dict) or not isinstance(station.get("transceivers"), list):
            snapshot.rejected.append(
                _reject("transceivers", index, station, "station has no transceivers list")
            )
            index += 1
            continue
        try:
            callsign = _callsign(station)
        except RecordError as error:
            snapshot.rejected.append(_reject("transceivers", index, station, str(error)))
            index += 1
            continue
        snapshot.transceiver_stations += 1
        for record in station["transceivers"]:
            try:
                if not isinstance(record, dict):
                    raise RecordError("transceiver is not an object")
                radio = _transceiver(callsign, record)
                key = (callsign, radio.transceiver_id)
                if key in seen:
                    raise RecordError(f"transceiver id {radio.transceiver_id} repeats")
                seen.add(key)
                snapshot.transceivers.append(radio)
            except RecordError as error:
                rejected = _reject("transceivers", index, record, str(error))
                snapshot.rejected.append(
                    Rejected(rejected.section, index, callsign, rejected.reason, rejected.raw)
                )
            index += 1
