"""One-line errors for user mistakes: `error: <what>: <reason>`, exit status 2."""

from __future__ import annotations

import click


class UserError(click.ClickException):
    """A mistake the user can fix; shown as one line without a traceback."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
