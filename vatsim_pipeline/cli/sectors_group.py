"""The `vatsim-pipeline sectors` command group, in a module of its own so that every
command module adding to it (listing, loading) imports the same group."""

from __future__ import annotations

from vatsim_pipeline.cli.app import main


@main.group("sectors")
def sectors_group() -> None:
    """Sector boundaries (FIR, UIR, TRACON, custom) and who staffs them."""
