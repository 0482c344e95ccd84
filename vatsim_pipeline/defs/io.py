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

from dagster import ConfigurableIOManager, DagsterInstance, InputContext, OutputContext

from vatsim_pipeline.feed.landing import LandedSnapshot, write_atomically

TIME_FIELDS = ("update_timestamp", "fetched_at")


class LandedSnapshotIOManager(ConfigurableIOManager):
    """Stores a `LandedSnapshot` as JSON in the Dagster instance's storage, by run id.

    Run ids belong to the instance, so the descriptor lives beside the instance's own
    files: `<storage>/landed_snapshot/<run_id>.json`.
    """

    @staticmethod
    def _path(instance: DagsterInstance, run_id: str) -> Path:
        return Path(instance.storage_directory()) / "landed_snapshot" / f"{run_id}.json"

    def handle_output(self, context: OutputContext, obj: LandedSnapshot) -> None:
        document = asdict(obj)
        for name in TIME_FIELDS:
            if document[name] is not None:
                document[name] = document[name].isoformat()
        path = self._path(context.step_context.instance, context.run_id)
        write_atomically(path, json.dumps(document).encode())

    def load_input(self, context: InputContext) -> LandedSnapshot:
        path = self._path(context.instance, context.upstream_output.run_id)
        document = json.loads(path.read_bytes())
        for name in TIME_FIELDS:
            if document[name] is not None:
                document[name] = datetime.fromisoformat(document[name])
        return LandedSnapshot(**document)
