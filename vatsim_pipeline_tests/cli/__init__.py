"""Tests of the command line, through click's runner against a data database: `run`
one command, expect it to have `succeeded`, or to be `refused` with one error line."""

from __future__ import annotations

from click.testing import CliRunner, Result

from vatsim_pipeline.cli.app import main


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"VATSIM_DATABASE_URL": url})


def succeeded(url: str, *args: str) -> str:
    result = run(url, *args)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def refused(url: str, *args: str) -> str:
    """The one error line of a command that must fail with exit status 2."""
    result = run(url, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    return result.stderr.rstrip("\n")
