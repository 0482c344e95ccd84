"""Occupancy intervals from a track (sectors/occupancy.py), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from vatsim_pipeline.sectors.occupancy import (
    Interval,
    Observation,
    append_changes_nothing,
    intervals,
)

START = datetime(2024, 11, 22, 12, 0, tzinfo=UTC)


def track(*sectors: str | None) -> list[Observation]:
    """Positions 15 s apart; latitude = index, so entry and exit points name a position."""
    return [
        Observation(START + timedelta(seconds=15 * i), sector, float(i), -float(i), 1000 * i)
        for i, sector in enumerate(sectors)
    ]


def at(i: int) -> datetime:
    return START + timedelta(seconds=15 * i)


def test_consecutive_positions_in_one_sector_form_one_interval() -> None:
    found = intervals(track("EDGG", "EDGG", "EDMM", "EDMM", "EDMM"), active=True)
    assert found == [
        Interval("EDGG", at(0), at(2), 0.0, -0.0, 0, 2.0, -2.0, 2000),
        Interval("EDMM", at(2), None, 2.0, -2.0, 2000, None, None, None),
    ]


def test_a_position_outside_every_sector_closes_the_interval() -> None:
    found = intervals(track("EDGG", None, None, "EDGG"), active=True)
    assert [(i.sector_id, i.entered_at, i.exited_at) for i in found] == [
        ("EDGG", at(0), at(1)),
        ("EDGG", at(3), None),
    ]
    assert (found[0].exit_latitude, found[0].exit_altitude) == (1.0, 1000)


def test_an_ended_flight_leaves_its_last_sector_at_its_last_position() -> None:
    found = intervals(track("EDGG", "EDMM", "EDMM"), active=False)
    assert found[-1] == Interval("EDMM", at(1), at(2), 1.0, -1.0, 1000, 2.0, -2.0, 2000)
    single = intervals(track("LOVV"), active=False)
    assert [(i.entered_at, i.exited_at) for i in single] == [(at(0), at(0))]


def test_order_of_the_track_does_not_matter_and_empty_tracks_have_none() -> None:
    observations = track("A", "A", "B", None, "B", "A")
    assert intervals(observations[::-1], True) == intervals(observations, True)
    assert intervals([], True) == []
    assert intervals(track(None, None), False) == []


SECTORS = st.sampled_from(["A", "B", "C", None])


def covering(found: list[Interval], moment: datetime) -> list[str]:
    return [
        i.sector_id
        for i in found
        if i.entered_at <= moment and (i.exited_at is None or moment < i.exited_at)
    ]


@given(st.lists(SECTORS, min_size=1, max_size=30), st.booleans())
def test_every_position_lies_in_exactly_the_interval_of_its_sector(labels, active) -> None:
    observations = track(*labels)
    found = intervals(observations, active)
    last = observations[-1].observed_at
    for observation in observations:
        inside = covering(found, observation.observed_at)
        if not active and observation.observed_at == last and observation.sector_id:
            # An ended flight's last interval closes at its last position.
            assert found[-1].exited_at == last == observation.observed_at
            assert found[-1].sector_id == observation.sector_id
            continue
        assert inside == ([observation.sector_id] if observation.sector_id else [])
    # Each interval starts at a position of its sector, and no two share their key.
    starts = {o.observed_at: o.sector_id for o in observations}
    assert all(starts[i.entered_at] == i.sector_id for i in found)
    assert len({(i.sector_id, i.entered_at) for i in found}) == len(found)


@given(st.lists(SECTORS, min_size=1, max_size=20), SECTORS, st.booleans())
def test_the_append_shortcut_is_only_taken_when_nothing_changes(labels, new, active) -> None:
    observations = track(*labels)
    appended = track(*labels, new)
    if append_changes_nothing(
        observations[-1].sector_id, new, has_previous=True, has_next=False, active=active
    ):
        assert intervals(appended, active) == intervals(observations, active)


def test_the_append_shortcut_refuses_what_needs_a_rebuild() -> None:
    def shortcut(previous, new, **kw) -> bool:
        options = {"has_previous": True, "has_next": False, "active": True, **kw}
        return append_changes_nothing(previous, new, **options)

    assert shortcut("A", "A")
    assert shortcut(None, None)
    assert not shortcut("A", "B")  # a new interval starts
    assert not shortcut("A", None)  # the open interval closes
    assert not shortcut(None, "A")
    assert not shortcut("A", "A", active=False)  # an ended flight's exit moves
    assert not shortcut("A", "A", has_next=True)  # inserted inside the track
    assert not shortcut(None, None, has_previous=False)  # a flight's first position
