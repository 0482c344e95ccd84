"""Bulk building of many small objects without the cyclic garbage collector.

Parsing a feed and turning it into rows allocate hundreds of thousands of tuples,
dataclasses and strings, none of them in a reference cycle. Each burst of allocations
makes the collector walk the objects built so far, again and again, so the cost per row
grew with the snapshot: at 10x today's traffic parsing cost 1.5 times as much per row
(`bench/scale.py`). Reference counting still frees everything at once; the collector is
only paused for the call and resumed as it was.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` with the cyclic collector paused (unless it already is)."""

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused
