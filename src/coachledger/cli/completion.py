"""``completion``: the shell script that completes commands, options and the ledger's ids."""

from __future__ import annotations

import click

from coachledger.cli import main

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL: commands, options, and the client and KPI ids
    of the ledger (--store or COACHLEDGER_STORE, read from its views when you press Tab).

    \b
    Example:
      eval "$(coachledger completion bash)"        # in ~/.bashrc
      eval "$(coachledger completion zsh)"         # in ~/.zshrc
      coachledger completion fish > ~/.config/fish/completions/coachledger.fish
    """
    # lazy: keeps 'coachledger --help' fast
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - the choice above lists only shells Click knows
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(main, {}, "coachledger", "_COACHLEDGER_COMPLETE").source())
