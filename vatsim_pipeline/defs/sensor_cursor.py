"""The feed sensor's cursor, kept as JSON between ticks.

It holds what the sensor landed and requested, and the circuit breakers of the services
it protects, so the breakers survive daemon restarts and show in the UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from vatsim_pipeline.resilience.breaker import BreakerBoard


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class FeedCursor:
    """What the sensor remembers between ticks."""

    last_landed: datetime | None = None
    last_requested: datetime | None = None
    runs_checked_until: datetime | None = None
    breakers: BreakerBoard = field(default_factory=BreakerBoard)

    @classmethod
    def parse(cls, text: str | None) -> FeedCursor:
        """Read a cursor; an empty or unreadable one starts afresh rather than failing."""
        try:
            document = json.loads(text) if text else {}
            return cls(
                last_landed=_time(document.get("last_landed")),
                last_requested=_time(document.get("last_requested")),
                runs_checked_until=_time(document.get("runs_checked_until")),
                breakers=BreakerBoard.from_dict(document.get("breakers")),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str:
        return json.dumps(
            {
                "last_landed": _iso(self.last_landed),
                "last_requested": _iso(self.last_requested),
                "runs_checked_until": _iso(self.runs_checked_until),
                "breakers": self.breakers.to_dict(),
            }
        )
