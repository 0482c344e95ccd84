"""The `vatsim-pipeline` command line: thin commands over the package's rooms.

Each command group lives in its own module here and registers itself on `main`.
User mistakes (a missing file, a bad option, an unreachable database) end in one clear
line on stderr and a non-zero exit, never a traceback.
"""

from vatsim_pipeline.cli.app import main

__all__ = ["main"]
