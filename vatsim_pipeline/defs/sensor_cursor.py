"""The feed sensor's cursor: the newest update landed, kept as JSON between ticks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass
class FeedCursor:
    """What the sensor remembers between ticks."""

    last_update: datetime | None = None

    @classmethod
    def parse(cls, text: str | None) -> FeedCursor:
        """Read a cursor; an empty or unreadable one starts afresh rather than failing."""
        try:
            document = json.loads(text) if text else {}
            last = document.get("last_update")
            return cls(last_update=datetime.fromisoformat(last) if last else None)
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str:
        return json.dumps(
            {"last_update": self.last_update.isoformat() if self.last_update else None}
        )
