"""The collector is paused for the call only, and left as the caller had it."""

from __future__ import annotations

import gc
import json

import pytest

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.gc_pause import without_gc
from vatsim_pipeline_tests.shared_data import sequence_files


@without_gc
def _collector_state(fail: bool = False) -> bool:
    if fail:
        raise ValueError("boom")
    return gc.isenabled()


def test_the_collector_is_paused_during_the_call_and_resumed_after() -> None:
    assert gc.isenabled()
    assert _collector_state() is False
    assert gc.isenabled()


def test_it_is_resumed_when_the_call_raises() -> None:
    with pytest.raises(ValueError, match="boom"):
        _collector_state(fail=True)
    assert gc.isenabled()


def test_a_caller_that_paused_it_keeps_it_paused() -> None:
    gc.disable()
    try:
        assert _collector_state() is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_parsing_leaves_the_collector_on() -> None:
    payload = sequence_files()[0].read_bytes()
    snapshot = parse_data_feed(payload)
    assert len(snapshot.pilots) == len(json.loads(payload)["pilots"])
    assert gc.isenabled()
