"""`vatsim-pipeline feed-server`: the local stand-in for the VATSIM feeds.

Serves simulated traffic (`--simulate`, the default) or recorded payloads (`--replay`)
in VATSIM's own shape, optionally misbehaving on purpose (`--fail-*`, `--latency`), so
that the pipeline can be run, demonstrated and tested without the network. Point the
pipeline at the `VATSIM_STATUS_URL` it prints.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.feed.faults import FAIL_MODES, FAIL_TARGETS, Faults, FaultSettings
from vatsim_pipeline.feed.replay import Replay, ReplayError, load_recordings
from vatsim_pipeline.feed.server import (
    FeedSource,
    FeedState,
    base_url,
    bind,
    create_app,
    make_server,
)
from vatsim_pipeline.feed.simulator import Simulator

SIMULATION_OPTIONS = ("pilots", "controllers")


class OneLineErrors(click.Command):
    """Shows click's own usage errors (a bad number, an unknown option) as one line too."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.BadParameter as error:
            what = "/".join(error.param.opts) if error.param is not None else "option"
            raise UserError(f"{what}: {error.message}") from None
        except click.NoSuchOption as error:
            raise UserError(f"{error.option_name}: no such option") from None
        except click.UsageError as error:
            raise UserError(error.format_message()) from None


@main.command("feed-server", cls=OneLineErrors)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--interval",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds between snapshots.",
)
@click.option(
    "--replay",
    "replay_dir",
    type=click.Path(path_type=Path),
    help="Replay the vatsim-data*.json files of DIR in timestamp order.",
    metavar="DIR",
)
@click.option("--simulate", is_flag=True, help="Simulate traffic (the default).")
@click.option(
    "--pilots",
    default=1500,
    show_default=True,
    type=click.IntRange(0),
    help="Simulated pilots to keep connected.",
)
@click.option(
    "--controllers",
    default=150,
    show_default=True,
    type=click.IntRange(0),
    help="Simulated controllers to keep connected (ATIS on top).",
)
@click.option("--seed", type=int, help="Seed of the simulation and the fault draws.")
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    help="Share of targeted requests that fail (default 1 with --fail-mode).",
)
@click.option("--fail-mode", type=click.Choice(FAIL_MODES), help="How targeted requests fail.")
@click.option(
    "--fail-target",
    type=click.Choice(FAIL_TARGETS),
    default="data",
    show_default=True,
    help="Which endpoints faults and latency apply to.",
)
@click.option(
    "--latency",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds added to every targeted response.",
)
@click.option(
    "--hang-seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="How long a 'timeout' fault holds a request.",
)
@click.pass_context
def feed_server(
    ctx: click.Context,
    host: str,
    port: int,
    interval: float,
    replay_dir: Path | None,
    simulate: bool,
    pilots: int,
    controllers: int,
    seed: int | None,
    fail_rate: float | None,
    fail_mode: str | None,
    fail_target: str,
    latency: float,
    hang_seconds: float,
) -> None:
    """Serve VATSIM-shaped feeds locally: simulated traffic or a replay of recordings.

    Endpoints: /status.json, /v3/vatsim-data.json, /v3/transceivers-data.json, and
    /_control (GET shows, POST changes the fault settings; POST /_control/advance
    publishes the next snapshot at once). Ctrl-C stops it.
    """
    if replay_dir is not None and simulate:
        raise UserError("--replay/--simulate: choose one of them")
    if fail_rate is not None and fail_mode is None:
        raise UserError("--fail-rate: needs --fail-mode")
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    source, what = _source(ctx, replay_dir, pilots, controllers, seed)
    settings = FaultSettings(
        fail_mode=fail_mode,
        fail_rate=1.0 if fail_rate is None else fail_rate,
        fail_target=fail_target,
        latency=latency,
        hang_seconds=hang_seconds,
    )
    try:
        sock = bind(host, port)
    except OSError as error:
        raise UserError(f"--port: cannot listen on {host}:{port} ({error.strerror})") from None
    state = FeedState(source, interval=interval, faults=Faults(settings, seed=seed))
    server = make_server(create_app(state))
    click.echo(
        f"feed-server: {what}, a snapshot every {interval:g} s{_describe(settings)}; "
        f"VATSIM_STATUS_URL={base_url(sock)}/status.json"
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def _source(
    ctx: click.Context, replay_dir: Path | None, pilots: int, controllers: int, seed: int
) -> tuple[FeedSource, str]:
    if replay_dir is None:
        simulator = Simulator(pilots=pilots, controllers=controllers, seed=seed)
        return simulator, f"simulating {pilots} pilots and {controllers} controllers (seed {seed})"
    for name in SIMULATION_OPTIONS:
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
            raise UserError(f"--{name}: only applies to --simulate, not --replay")
    try:
        recordings = load_recordings(replay_dir)
    except ReplayError as error:
        raise UserError(f"{error.path}: {error.reason}") from None
    return Replay(recordings), f"replaying {len(recordings)} snapshots from {replay_dir}"


def _describe(settings: FaultSettings) -> str:
    parts = []
    if settings.fail_mode:
        share = f"{settings.fail_rate:.0%} of " if settings.fail_rate < 1 else ""
        parts.append(f"{settings.fail_mode} on {share}{settings.fail_target} requests")
    if settings.latency:
        parts.append(f"{settings.latency:g} s latency on {settings.fail_target}")
    return f" ({', '.join(parts)})" if parts else ""
