"""Where things live, read from the environment so every command can be pointed anywhere.

`VATSIM_HOME` is the one git-ignored folder of the embedded default: the SQLite data
database and the landing directory live under it unless their own variables say otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATUS_URL = "https://status.vatsim.net/status.json"


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one process."""

    home: Path
    database_url: str
    landing_dir: Path
    status_url: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("VATSIM_HOME") or ".vatsim").expanduser().resolve()
        database_url = env.get("VATSIM_DATABASE_URL") or f"sqlite:///{home / 'vatsim.db'}"
        landing_dir = Path(env.get("VATSIM_LANDING_DIR") or home / "landing").expanduser()
        status_url = env.get("VATSIM_STATUS_URL") or DEFAULT_STATUS_URL
        return cls(
            home=home,
            database_url=database_url,
            landing_dir=landing_dir.resolve(),
            status_url=status_url,
        )
