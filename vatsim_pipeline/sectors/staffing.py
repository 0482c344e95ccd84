"""Which sectors a controller staffs, read from the callsign as VATSpy and SimAware do.

- CTR and FSS positions staff FIRs, UIRs and custom sectors. The callsign minus its
  position is tried from the longest prefix down: `EDGG_E_CTR` tries `EDGG_E`, then
  `EDGG`; `LON_S_CTR` finds VATSpy's own `LON_S` line (EGTT-S, London South). A custom
  sector beats a VATSpy one with the same prefix. FSS positions try UIRs first and
  prefer the oceanic variant of a FIR (KZNY:OCEANIC for NY_FSS), CTR the domestic one.
  A UIR staffs itself and every FIR it lists.
- APP and DEP positions staff simaware TRACONs, matched on (prefix, suffix) where a
  missing suffix means APP, and a DEP without its own boundary falls back to the APP
  one, as SimAware does. A TRACON whose suffix is TWR is staffed by that tower.
- The facility must agree with the position (an observer logged in as `XXXX_TWR` with
  facility 0 staffs nothing); `None` skips the check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from vatsim_pipeline.sectors.boundaries import Sector

FACILITY_OF_POSITION = {"FSS": 1, "TWR": 4, "APP": 5, "DEP": 5, "CTR": 6}


class StaffingIndex:
    """Sectors keyed by the callsign prefixes that staff them; build once per sector set."""

    def __init__(self, sectors: Iterable[Sector]) -> None:
        self.areas: dict[str, list[Sector]] = defaultdict(list)
        self.custom: dict[str, list[Sector]] = defaultdict(list)
        self.uirs: dict[str, list[Sector]] = defaultdict(list)
        self.tracons: dict[tuple[str, str], list[Sector]] = defaultdict(list)
        for sector in sectors:
            for prefix in sector.prefixes:
                if sector.kind == "tracon":
                    self.tracons[(prefix, sector.suffix or "APP")].append(sector)
                elif sector.kind == "uir":
                    self.uirs[prefix].append(sector)
                elif sector.kind == "custom":
                    self.custom[prefix].append(sector)
                else:
                    self.areas[prefix].append(sector)

    def _uir(self, prefix: str) -> list[str]:
        return [i for uir in self.uirs.get(prefix, ()) for i in (uir.id, *uir.members)]

    def _area(self, prefix: str, oceanic: bool) -> list[str]:
        found = self.custom.get(prefix) or self.areas.get(prefix) or []
        preferred = [s for s in found if s.oceanic == oceanic]
        return [s.id for s in preferred or found]

    def staffed_by_area(self, body: list[str], position: str) -> list[str]:
        """FIR, UIR or custom sectors of a CTR or FSS callsign without its position."""
        candidates = ["_".join(body[:k]) for k in range(len(body), 0, -1)]
        lookups = [lambda c: self._area(c, position == "FSS"), self._uir]
        if position == "FSS":
            lookups.reverse()
        for lookup in lookups:
            for candidate in candidates:
                if found := lookup(candidate):
                    return list(dict.fromkeys(found))
        return []

    def staffed_by_tracon(self, parts: list[str], position: str) -> list[str]:
        """TRACON sectors of an APP, DEP or TWR callsign split at its underscores."""
        for k in range(len(parts) - 1, 0, -1):
            prefix, rest = "_".join(parts[:k]), "_".join(parts[k:])
            suffixes = [rest, position, *(["APP"] if position == "DEP" else [])]
            for suffix in dict.fromkeys(suffixes):
                if found := self.tracons.get((prefix, suffix)):
                    return [s.id for s in found]
        return []


def parse_position(callsign: str) -> tuple[list[str], str | None]:
    """Callsign parts and the position they end with (`APP1` counts as APP), if any."""
    parts = [p for p in callsign.strip().upper().split("_") if p]
    if len(parts) < 2:
        return parts, None
    position = parts[-1].rstrip("0123456789")
    return parts, position if position in FACILITY_OF_POSITION else None


def sectors_staffed_by(callsign: str, facility: int | None, index: StaffingIndex) -> list[str]:
    """Ids of the sectors the controller `callsign` with `facility` staffs, most specific
    first; empty for positions that staff no sector (DEL, GND, OBS, SUP, ATIS...)."""
    parts, position = parse_position(callsign)
    if position is None:
        return []
    if facility is not None and facility != FACILITY_OF_POSITION[position]:
        return []
    if position in ("CTR", "FSS"):
        return index.staffed_by_area(parts[:-1], position)
    return index.staffed_by_tracon(parts, position)
