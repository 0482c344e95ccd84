"""Passes the landed snapshot's small descriptor between steps, scoped to its run.

Dagster's default filesystem IO manager keys asset outputs by asset key, so a
re-execution of an old failed run would read the newest run's snapshot. Keying by the
producing run id (which Dagster resolves to the parent run on re-execution) keeps every
replay on its own payload.
"""

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from dagster import ConfigurableIOManager, InputContext, OutputContext

from vatsim_pipeline.feed.landing import LandedSnapshot, write_atomically

TIME_FIELDS = ("update_timestamp", "fetched_at")


class LandedSnapshotIOManager(ConfigurableIOManager):
    """Stores a `LandedSnapshot` as JSON under `<directory>/<run_id>.json`."""

    directory: str

    def _path(self, run_id: str) -> Path:
        return Path(self.directory) / f"{run_id}.json"

    def handle_output(self, context: OutputContext, obj: LandedSnapshot) -> None:
        document = asdict(obj)
        for name in TIME_FIELDS:
            if document[name] is not None:
                document[name] = document[name].isoformat()
        write_atomically(self._path(context.run_id), json.dumps(document).encode())

    def load_input(self, context: InputContext) -> LandedSnapshot:
        document = json.loads(self._path(context.upstream_output.run_id).read_bytes())
        for name in TIME_FIELDS:
            if document[name] is not None:
                document[name] = datetime.fromisoformat(document[name])
        return LandedSnapshot(**document)
