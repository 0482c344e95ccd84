"""What every run worker would otherwise build for itself, built once in the warm process
that forks them (`launcher/zygote.py` calls `warm_up_run_worker` of the definitions
module after importing it, and again after each fork, off the run's path).

Every run is a new fork of that process, so a per-process cache helps a run only when
the fork inherits it filled: the data database's engine (`engine_for` migrates the
schema on first use: dozens of catalogue queries) and the stored sectors (`sector_set`
parses every boundary, about half a second of CPU). Both were rebuilt by every ingest
and forecast run; so was the airport list both forecasts read at every refresh
(`airports_frame`). The sectors' cell grid, which answers the forecast's 60,000 point
locations a minute with a fifth of the point tests, is built here only (1.5 s of CPU
once per sector set: too much for a run that finds the sectors changed, which locates
without it, as before). A changed sector set or airport list is reloaded here after the
next fork (the workers in between load it themselves, as before). The engine's pool is
emptied afterwards, so that no worker inherits a connection of the warm process.
"""

import os

from vatsim_pipeline.storage.airport_storage import airports_frame
from vatsim_pipeline.storage.engine import engine_for
from vatsim_pipeline.storage.occupancy_writes import sector_set

DATABASE_URL = "VATSIM_DATABASE_URL"


def warm_up_run_worker() -> None:
    """Fill the caches a run reads (raises what the database raises; the caller goes on
    without them: each run then fills them itself)."""
    url = os.environ.get(DATABASE_URL)
    if not url:
        return
    engine = engine_for(url)
    try:
        sectors = sector_set(engine)
        if sectors is not None:
            sectors.index.build_grid()
        with engine.connect() as connection:
            airports_frame(connection)
    finally:
        engine.dispose()
