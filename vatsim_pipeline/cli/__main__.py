"""`python -m vatsim_pipeline.cli ...`: the `vatsim-pipeline` command without its script.

`feed_server` is imported here by name so that `feed-server` is there even where the
command list of `app.py` does not name it.
"""

from vatsim_pipeline.cli import feed_server  # noqa: F401
from vatsim_pipeline.cli.app import main

main(prog_name="vatsim-pipeline")
