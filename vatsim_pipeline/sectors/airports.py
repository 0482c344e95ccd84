"""The airport list of VATSpy.dat (`[Airports]`), the places movements are matched to.

Facts about the real file that shape this reader: a line is
`ICAO|Name|Latitude|Longitude|IATA/LID|FIR|IsPseudo`, sometimes followed by a comment
(`0 ; corr`); pseudo airports (IsPseudo 1) are labels for display, some repeating a
real airport's ICAO (CYYZ, EGLC), so they are left out; an ICAO can still occur twice
(a second IATA code for the same field), and the first line wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vatsim_pipeline.sectors.boundaries import SectorSourceError


@dataclass(frozen=True, slots=True)
class VatSpyAirport:
    """One real airport of VATSpy.dat."""

    icao: str
    name: str
    latitude: float
    longitude: float
    iata: str | None
    fir: str | None


def _section_lines(text: str, section: str) -> list[tuple[int, str]]:
    lines, inside = [], False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            inside = line.lower() == f"[{section.lower()}]"
            continue
        if inside and line and not line.startswith(";"):
            lines.append((number, line))
    return lines


def read_airports(path: Path) -> list[VatSpyAirport]:
    """The real airports of a VATSpy.dat, in file order; `SectorSourceError` names the
    line of the first that cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise SectorSourceError(path, "", error.strerror or str(error)) from None
    found: dict[str, VatSpyAirport] = {}
    for number, line in _section_lines(text, "Airports"):
        fields = line.split("|")
        if len(fields) < 7:
            raise SectorSourceError(path, f"line {number}", "an airport needs 7 fields")
        if fields[6].split(";")[0].strip() == "1":
            continue
        try:
            latitude, longitude = float(fields[2]), float(fields[3])
        except ValueError:
            raise SectorSourceError(
                path, f"line {number}", "latitude/longitude not numbers"
            ) from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise SectorSourceError(path, f"line {number}", "latitude/longitude out of range")
        icao = fields[0].strip().upper()
        found.setdefault(
            icao,
            VatSpyAirport(
                icao=icao,
                name=fields[1].strip(),
                latitude=latitude,
                longitude=longitude,
                iata=fields[4].strip() or None,
                fir=fields[5].strip() or None,
            ),
        )
    if not found:
        raise SectorSourceError(path, "[Airports]", "no airports in this file")
    return list(found.values())
