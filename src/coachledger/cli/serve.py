"""``serve``: the ledger in a browser, for the coaches of a practice."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from coachledger.cli.common import Env, pass_env

WEB_MODULES = ("starlette", "jinja2", "uvicorn", "argon2", "itsdangerous", "python_multipart")


def _missing_module() -> str | None:
    """The first module of the web extra that cannot be imported (None: all can)."""
    for name in WEB_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8350, show_default=True, help="0: any free port.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the ledger (PostgreSQL or SQLite).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The session key file (default: beside a SQLite ledger, or in ~/.config/coachledger for PostgreSQL).",
)
@click.option("--store", "store", metavar="URL", help="The ledger (as the global --store).")
@pass_env
def serve(env: Env, host: str, port: int, workers: int, key_file: Path | None, store: str | None) -> None:
    """Serve the ledger to the coaches of a practice in a browser; prints its URL.

    Coaches sign in with the name and password of 'coachledger coach add'; each sees the
    clients whose coach they are (an admin: every client). Listens on this machine only
    unless --host says otherwise (put a TLS proxy in front to serve a network). Needs the
    web extra: pip install 'coachledger[web]'.

    \b
    Example:
      coachledger coach add maria
      coachledger serve
      coachledger serve --store postgresql://coach@db/practice --host 0.0.0.0 --workers 4
    """
    missing = _missing_module()
    if missing is not None:
        raise click.ClickException(
            f"coachledger serve needs the web extra, which is not installed (no module '{missing}'): "
            "pip install 'coachledger[web]'"
        )
    # lazy: the web server only for this command
    from coachledger.settings import Settings
    from coachledger.web.server import serve as run

    settings = env.settings if store is None else Settings.from_values(store, env.settings.actor)
    run(settings, host, port, workers, key_file, click.echo)
