"""Sector boundaries from VATSpy (FIRs, UIRs), simaware (TRACONs) and user GeoJSON files.

Facts about the real files that shape this module:

- `Boundaries.geojson` holds one feature per boundary, but an id can occur twice: parts
  of one boundary (CZQM, NZOH, ZBAA...) share their properties and are merged into one
  sector, while KZNY and SUEO have a domestic and an oceanic feature. Those stay two
  sectors, the oceanic one with the id `<id>:OCEANIC`, because SimAware keys boundaries
  by `(id, oceanic)` and lights the oceanic one for FSS positions.
- Boundaries across the antimeridian are already split at ±180 (NZZO, PAZA, UHMM,
  KZAK...). Other input may instead run past ±180 or jump from 179 to -179; such rings
  are made continuous and cut at ±180, so that every geometry lies in [-180, 180].
- Some rings are not closed (RJDG-W, YTRT) and some polygons self-intersect (LDZO,
  ENBD...): rings are closed and `shapely.make_valid` repairs the rest.
- TRACON ids repeat (NCT has ten features told apart by prefix and suffix), so a TRACON
  sector id is `TRACON:<id>`, plus `:<prefixes>[_<suffix>]` when the id is not unique.
  Features that agree on id, prefixes and suffix are merged, as SimAware cannot tell
  them apart either.
"""

from __future__ import annotations

import gzip
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

OCEANIC_SUFFIX = ":OCEANIC"


class SectorSourceError(ValueError):
    """A boundary source that cannot be used; the message names file, place and reason."""

    def __init__(self, path: Path | str, where: str, reason: str) -> None:
        reason = " ".join(str(reason).split())
        super().__init__(f"{path}: {where}: {reason}" if where else f"{path}: {reason}")


@dataclass(frozen=True)
class Sector:
    """One piece of airspace and the callsigns that staff it.

    `kind` is fir, uir, tracon or custom. Ids: a FIR keeps its Boundaries.geojson id
    (`KZNY`, `KZNY:OCEANIC`); the others are `UIR:<prefix>`, `TRACON:<id>[...]` and
    `CUSTOM:<id>`, so that no source can overwrite another's sector.
    `prefixes` are the callsign prefixes (the first is the VATSpy or simaware primary
    one); `suffix` is a TRACON's position suffix (SimAware assumes APP when it is None);
    `members` are the FIR sector ids a UIR covers.
    """

    id: str
    name: str | None
    kind: str
    geometry: BaseGeometry
    prefixes: tuple[str, ...] = ()
    suffix: str | None = None
    members: tuple[str, ...] = ()
    oceanic: bool = False
    region: str | None = None
    division: str | None = None
    source: str | None = None

    @property
    def callsign_prefix(self) -> str | None:
        """The primary callsign prefix."""
        return self.prefixes[0] if self.prefixes else None

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """`(min_lat, min_lon, max_lat, max_lon)` of the geometry."""
        min_lon, min_lat, max_lon, max_lat = self.geometry.bounds
        return (min_lat, min_lon, max_lat, max_lon)


@dataclass
class _FirLine:
    icao: str
    name: str
    prefix: str
    boundary: str


@dataclass
class _VatSpy:
    firs: list[_FirLine] = field(default_factory=list)
    uirs: list[tuple[str, str, list[str], int]] = field(default_factory=list)


# --- geometry ------------------------------------------------------------------------


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons inside any geometry (make_valid may add lines or points)."""
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    if hasattr(geometry, "geoms"):
        return [p for part in geometry.geoms for p in _polygons(part)]
    return []


def _unwrap(coords: np.ndarray) -> np.ndarray:
    """Longitudes made continuous: a step of more than 180° is a crossing of ±180."""
    coords = coords.copy()
    steps = np.diff(coords[:, 0])
    shifts = np.where(steps > 180, -360.0, np.where(steps < -180, 360.0, 0.0))
    coords[1:, 0] += np.cumsum(shifts)
    if abs(coords[-1, 0] - coords[0, 0]) > 180:
        # The ring goes once around the globe: it encloses a pole, so close it over it.
        pole = 90.0 if coords[:, 1].mean() > 0 else -90.0
        coords = np.vstack([coords, [[coords[-1, 0], pole], [coords[0, 0], pole]]])
    return coords


def _within_antimeridian(polygon: Polygon) -> list[Polygon]:
    """The polygon as pieces inside longitudes [-180, 180]."""
    rings = [np.asarray(r.coords)[:, :2] for r in (polygon.exterior, *polygon.interiors)]
    if all(
        r[:, 0].min() >= -180 and r[:, 0].max() <= 180 and np.all(np.abs(np.diff(r[:, 0])) <= 180)
        for r in rings
    ):
        return [polygon]
    shell, *holes = (_unwrap(r) for r in rings)
    for hole in holes:
        hole[:, 0] += 360.0 * round((shell[:, 0].mean() - hole[:, 0].mean()) / 360.0)
    continuous = shapely.make_valid(Polygon(shell, holes))
    west, _, east, _ = continuous.bounds
    pieces: list[Polygon] = []
    for turn in range(math.floor((west + 180) / 360), math.ceil((east - 180) / 360) + 1):
        window = shapely.box(360 * turn - 180, -90, 360 * turn + 180, 90)
        piece = shapely.intersection(continuous, window)
        pieces += _polygons(shapely.transform(piece, lambda xy, t=turn: xy - [360.0 * t, 0]))
    return pieces


def sector_geometry(geometries: Sequence[BaseGeometry]) -> MultiPolygon:
    """One valid MultiPolygon in [-180, 180] from polygonal parts that may overlap,
    cross the antimeridian or be invalid; the form every `Sector.geometry` has."""
    pieces = [piece for g in geometries for p in _polygons(g) for piece in _within_antimeridian(p)]
    parts = [
        part
        for piece in pieces
        for part in ([piece] if piece.is_valid else _polygons(shapely.make_valid(piece)))
    ]
    merged = shapely.union_all(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())
    return MultiPolygon(_polygons(merged))


def _area(path: Path, where: str, geometries: Sequence[BaseGeometry]) -> MultiPolygon:
    geometry = sector_geometry(geometries)
    if geometry.is_empty:
        raise SectorSourceError(path, where, "geometry encloses no area")
    return geometry


def _feature_geometry(path: Path, where: str, geometry: Any) -> BaseGeometry:
    if not isinstance(geometry, dict):
        raise SectorSourceError(path, where, "feature has no geometry")
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise SectorSourceError(path, where, f"geometry type {geometry.get('type')!r} is no area")
    try:
        return shapely.force_2d(shape(geometry))
    except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise SectorSourceError(path, where, f"bad coordinates: {exc}") from exc


# --- readers -------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError) as exc:
        raise SectorSourceError(path, "", f"cannot read: {exc}") from exc


def read_feature_collection(path: Path | str) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection file (gzip accepted)."""
    path = Path(path)
    try:
        document = orjson.loads(_read_bytes(path))
    except orjson.JSONDecodeError as exc:
        raise SectorSourceError(path, "", f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise SectorSourceError(path, "", "not a GeoJSON FeatureCollection")
    for number, feature in enumerate(document["features"], 1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            raise SectorSourceError(path, f"feature {number}", "not a GeoJSON Feature")
    return document["features"]


def _read_vatspy_dat(path: Path | str) -> _VatSpy:
    """The [FIRs] and [UIRs] sections of VATSpy.dat; other sections are not needed."""
    path = Path(path)
    try:
        text = _read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SectorSourceError(path, "", f"not UTF-8 text: {exc}") from exc
    parsed, section = _VatSpy(), None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        fields = [f.strip() for f in line.split("|")]
        if section == "FIRs":
            if len(fields) != 4 or not fields[0] or not fields[3]:
                raise SectorSourceError(
                    path, f"line {number}", "[FIRs] needs ICAO|name|prefix|boundary"
                )
            parsed.firs.append(_FirLine(*fields))
        elif section == "UIRs":
            if len(fields) != 3 or not fields[0]:
                raise SectorSourceError(path, f"line {number}", "[UIRs] needs prefix|name|FIR list")
            members = [m.strip() for m in fields[2].split(",") if m.strip()]
            parsed.uirs.append((fields[0], fields[1], members, number))
    if not parsed.firs:
        raise SectorSourceError(path, "", "no [FIRs] section")
    return parsed


# --- sector builders -----------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _prefix_list(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SectorSourceError(path, where, "prefix must be a string or a list of strings")
    return tuple(dict.fromkeys(v.strip().upper() for v in values if v.strip()))


def _fir_sectors(vatspy: _VatSpy, boundaries: Path) -> list[Sector]:
    lines_by_boundary: dict[str, list[_FirLine]] = defaultdict(list)
    # The line whose ICAO is the boundary's own id names it (NZZO is "Auckland Radio",
    # not "Pago Pago" of the NSTU line that shares its boundary).
    for line in sorted(vatspy.firs, key=lambda line: line.icao != line.boundary):
        lines_by_boundary[line.boundary].append(line)
    claimed = {line.prefix or line.icao for line in vatspy.firs}
    groups: dict[tuple[str, bool], list[tuple[dict, BaseGeometry]]] = defaultdict(list)
    for number, feature in enumerate(read_feature_collection(boundaries), 1):
        props = feature.get("properties") or {}
        boundary_id = _text(props.get("id"))
        where = f"feature {number} ({boundary_id})"
        if boundary_id is None:
            raise SectorSourceError(boundaries, f"feature {number}", "feature has no id")
        geometry = _feature_geometry(boundaries, where, feature.get("geometry"))
        groups[(boundary_id, _flag(props.get("oceanic")))].append((props, geometry))
    variants = defaultdict(int)
    for boundary_id, _ in groups:
        variants[boundary_id] += 1
    sectors = []
    for (boundary_id, oceanic), parts in groups.items():
        lines = lines_by_boundary.get(boundary_id, [])
        prefixes = [line.prefix or line.icao for line in lines]
        if boundary_id not in claimed:
            prefixes.append(boundary_id)
        props = parts[0][0]
        split = variants[boundary_id] > 1 and oceanic
        sectors.append(
            Sector(
                id=boundary_id + OCEANIC_SUFFIX if split else boundary_id,
                name=lines[0].name if lines else None,
                kind="fir",
                geometry=_area(boundaries, boundary_id, [g for _, g in parts]),
                prefixes=tuple(dict.fromkeys(p.upper() for p in prefixes)),
                oceanic=oceanic,
                region=_text(props.get("region")),
                division=_text(props.get("division")),
                source=boundaries.name,
            )
        )
    return sectors


def _uir_sectors(vatspy: _VatSpy, firs: list[Sector], vatspy_dat: Path) -> list[Sector]:
    boundaries_by_icao: dict[str, set[str]] = defaultdict(set)
    for line in vatspy.firs:
        boundaries_by_icao[line.icao].add(line.boundary)
    firs_by_boundary: dict[str, list[Sector]] = defaultdict(list)
    for sector in firs:
        firs_by_boundary[sector.id.removesuffix(OCEANIC_SUFFIX)].append(sector)
    sectors = []
    for prefix, name, icaos, number in vatspy.uirs:
        unknown = [icao for icao in icaos if icao not in boundaries_by_icao]
        if unknown:
            raise SectorSourceError(vatspy_dat, f"line {number}", f"unknown FIRs {unknown}")
        members = [
            fir
            for icao in icaos
            for boundary in sorted(boundaries_by_icao[icao])
            for fir in firs_by_boundary[boundary]
        ]
        if not members:
            continue
        members = list({m.id: m for m in members}.values())
        regions = {m.region for m in members}
        divisions = {m.division for m in members}
        sectors.append(
            Sector(
                id=f"UIR:{prefix}",
                name=name,
                kind="uir",
                geometry=sector_geometry([m.geometry for m in members]),
                prefixes=(prefix.upper(),),
                members=tuple(m.id for m in members),
                oceanic=all(m.oceanic for m in members),
                region=regions.pop() if len(regions) == 1 else None,
                division=divisions.pop() if len(divisions) == 1 else None,
                source=vatspy_dat.name,
            )
        )
    return sectors


def _tracon_sectors(path: Path) -> list[Sector]:
    groups: dict[tuple[str, tuple[str, ...], str | None], list] = defaultdict(list)
    for number, feature in enumerate(read_feature_collection(path), 1):
        props = feature.get("properties") or {}
        tracon_id = _text(props.get("id"))
        where = f"feature {number} ({tracon_id})"
        if tracon_id is None:
            raise SectorSourceError(path, f"feature {number}", "feature has no id")
        prefixes = _prefix_list(path, where, props.get("prefix"))
        suffix = _text(props.get("suffix"))
        geometry = _feature_geometry(path, where, feature.get("geometry"))
        key = (tracon_id, prefixes, suffix.upper() if suffix else None)
        groups[key].append((props, geometry))
    repeated = defaultdict(int)
    for tracon_id, _, _ in groups:
        repeated[tracon_id] += 1
    sectors = []
    for (tracon_id, prefixes, suffix), parts in groups.items():
        sector_id = f"TRACON:{tracon_id}"
        if repeated[tracon_id] > 1:
            sector_id += ":" + "+".join(prefixes) + (f"_{suffix}" if suffix else "")
        props = parts[0][0]
        sectors.append(
            Sector(
                id=sector_id,
                name=_text(props.get("name")) or _text(props.get("Name")),
                kind="tracon",
                geometry=_area(path, tracon_id, [g for _, g in parts]),
                prefixes=prefixes,
                suffix=suffix,
                source=path.name,
            )
        )
    return sectors


def _custom_sectors(path: Path) -> list[Sector]:
    groups: dict[str, list] = defaultdict(list)
    for number, feature in enumerate(read_feature_collection(path), 1):
        props = feature.get("properties") or {}
        given = _text(props.get("id"))
        where = f"feature {number} ({given})" if given else f"feature {number}"
        geometry = _feature_geometry(path, where, feature.get("geometry"))
        prefixes = _prefix_list(path, where, props.get("prefix"))
        groups[given or f"{path.stem}-{number}"].append((props, geometry, prefixes))
    return [
        Sector(
            id=f"CUSTOM:{custom_id}",
            name=_text(parts[0][0].get("name")) or _text(parts[0][0].get("Name")),
            kind="custom",
            geometry=_area(path, custom_id, [g for _, g, _ in parts]),
            prefixes=tuple(dict.fromkeys(p for _, _, ps in parts for p in ps)),
            oceanic=_flag(parts[0][0].get("oceanic")),
            region=_text(parts[0][0].get("region")),
            division=_text(parts[0][0].get("division")),
            source=path.name,
        )
        for custom_id, parts in groups.items()
    ]


def load_sectors(
    vatspy_dat: Path | str,
    boundaries: Path | str,
    tracon: Path | str | None = None,
    extra: Iterable[Path | str] = (),
) -> list[Sector]:
    """All sectors of one VATSpy release, optionally with simaware TRACONs and user files.

    Raises `SectorSourceError` on the first unusable input, before anything is returned,
    so that a bad release never half-replaces a good one.
    """
    vatspy_dat, boundaries = Path(vatspy_dat), Path(boundaries)
    vatspy = _read_vatspy_dat(vatspy_dat)
    firs = _fir_sectors(vatspy, boundaries)
    known = {s.id for s in firs}
    missing = sorted(
        {line.boundary for line in vatspy.firs} - {i.removesuffix(OCEANIC_SUFFIX) for i in known}
    )
    if missing:
        raise SectorSourceError(
            boundaries, "", f"boundaries named in {vatspy_dat.name} missing: {missing[:5]}"
        )
    sectors = [*firs, *_uir_sectors(vatspy, firs, vatspy_dat)]
    if tracon is not None:
        sectors += _tracon_sectors(Path(tracon))
    for path in extra:
        sectors += _custom_sectors(Path(path))
    seen: set[str] = set()
    for sector in sectors:
        if sector.id in seen:
            raise SectorSourceError(sector.source or "", sector.id, "sector id occurs twice")
        seen.add(sector.id)
    return sectors
