"""Which sectors lie inside which: a FIR counts the flights of its TRACONs and
sub-sectors, although occupancy records only the most specific sector of a position.

Sector A is a parent of sector S when more than `share` (default half) of S's area lies
inside A and A is larger than S. Half, not all: real boundaries are drawn by different
hands (VATSpy FIRs, simaware TRACONs) and a TRACON pokes out of its FIR by a few
kilometres; a TRACON straddling two FIRs counts, whole, for the one holding most of it.
A UIR is also a parent of every FIR it lists. Geometries are simplified by 0.05 degrees
(about 5 km) before intersecting: this changes the answer for a handful of 5,000 pairs
and takes a third of the time off a computation of about two seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import shapely

from vatsim_pipeline.sectors.boundaries import Sector

DEFAULT_SHARE = 0.5
SIMPLIFY_DEGREES = 0.05


def sector_parents(
    sectors: Sequence[Sector], share: float = DEFAULT_SHARE
) -> dict[str, tuple[str, ...]]:
    """Sector id -> ids of every sector it lies inside (sorted); sectors inside none are
    left out."""
    if not sectors:
        return {}
    geometries = np.array([s.geometry for s in sectors], dtype=object)
    geometries = shapely.simplify(geometries, SIMPLIFY_DEGREES, preserve_topology=True)
    shapely.prepare(geometries)
    areas = shapely.area(geometries)
    inner, outer = shapely.STRtree(geometries).query(geometries)
    keep = (inner != outer) & (areas[outer] > areas[inner])
    inner, outer = inner[keep], outer[keep]
    covered = shapely.covers(geometries[outer], geometries[inner])
    shares = np.ones(len(inner))
    partial = ~covered
    overlap = shapely.area(
        shapely.intersection(geometries[inner[partial]], geometries[outer[partial]])
    )
    shares[partial] = overlap / np.maximum(areas[inner[partial]], 1e-12)
    parents: dict[str, set[str]] = defaultdict(set)
    for i, o in zip(inner[shares > share], outer[shares > share], strict=True):
        parents[sectors[i].id].add(sectors[o].id)
    known = {s.id for s in sectors}
    for sector in sectors:
        if sector.kind == "uir":
            for member in sector.members:
                if member in known and member != sector.id:
                    parents[member].add(sector.id)
    return {child: tuple(sorted(found)) for child, found in sorted(parents.items())}


def rollup_targets(
    sector_ids: Iterable[str], parents: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Each most specific sector -> itself and every sector above it: the sectors whose
    counts a flight located in it adds to."""
    return {s: (s, *parents.get(s, ())) for s in dict.fromkeys(sector_ids)}
