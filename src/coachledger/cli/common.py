"""What every command shares: the context object, parameter types, options, errors."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

import click

from coachledger.errors import ClientNotFound, DomainError, did_you_mean
from coachledger.moments import OutOfRange, parse_moment
from coachledger.settings import Settings, SettingsError, demo_store_path

if TYPE_CHECKING:
    from coachledger.application import Ledger

F = TypeVar("F", bound=Callable[..., Any])


class Env:
    """Settings and lazily built services for one command."""

    def __init__(self, store: str | None, actor: str | None) -> None:
        self._store = store
        self._actor = actor
        self._settings: Settings | None = None
        self._ledger: Ledger | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_values(self._store, self._actor)
        return self._settings

    def ledger(self) -> Ledger:
        if self._ledger is None:
            # lazy: the write side only for commands that write
            from coachledger.services.bootstrap import open_ledger

            self._ledger = open_ledger(self.settings)
        return self._ledger


pass_env = click.make_pass_decorator(Env)


@contextlib.contextmanager
def ledger_errors() -> Iterator[None]:
    """Map the ledger's own errors to one ``Error:`` line and exit code 1."""
    try:
        yield
    except ClientNotFound as e:
        raise click.ClickException(str(e) + _close_clients(e.client)) from None
    except (DomainError, SettingsError) as e:
        raise click.ClickException(clean(str(e))) from None
    except click.exceptions.Exit:
        raise
    except UnicodeEncodeError as e:  # bytes of the command line that are not UTF-8 (surrogate escapes)
        if e.reason != "surrogates not allowed":
            raise
        raise click.ClickException(
            "text must be valid UTF-8: a byte given is not part of a character"
        ) from None
    except ImportError as e:
        if not (e.name or "").startswith("psycopg") and "psycopg" not in str(e):
            raise
        raise click.ClickException(
            f"a PostgreSQL store needs the driver, which is not installed ({e}): "
            "pip install 'coachledger[postgres]'"
        ) from None
    except Exception as e:
        refusal = _domain_cause(e, DomainError)
        message = str(refusal) if refusal is not None else _store_message(e)
        if message is None:
            raise
        raise click.ClickException(clean(message)) from None


# Control characters from stored text (names, actors, notes) never reach the terminal: only
# the colour/bold sequences (SGR) that styling writes pass, and newlines and tabs.
_CONTROL = re.compile(r"\x1b\[[0-9;]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _keep_style(match: re.Match[str]) -> str:
    return match.group() if match.group().startswith("\x1b[") else ""


def clean(text: str) -> str:
    """``text`` without terminal control characters (an escape sequence is left as harmless text)."""
    return _CONTROL.sub(_keep_style, text)


def shorten(text: str, limit: int = 80) -> str:
    """A refused value as an error message quotes it: at most ``limit`` characters, control
    characters written as escapes (``\\n``), so that the message stays one plain line."""
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return shown if len(text) <= limit else f"{shown}… ({len(text)} characters)"


class _CleanStream:
    """A text stream that writes ``clean`` text; everything else is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(clean(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def clean_output() -> Iterator[None]:
    """While a command runs, what it prints goes through ``clean``."""
    stdout = sys.stdout
    sys.stdout = _CleanStream(stdout)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = stdout


def _close_clients(slug: str) -> str:
    """`` (did you mean ...?)`` from the clients the store knows; nothing when it cannot say."""
    ctx = click.get_current_context(silent=True)
    env = ctx.find_object(Env) if ctx is not None else None
    if env is None:
        return ""
    try:
        # lazy: the read side only to suggest a client name
        from coachledger.projections.clients import all_clients
        from coachledger.projections.read import ReadSide

        rs = ReadSide(env.settings)
        try:
            return did_you_mean(slug, [c["client"] for c in all_clients(rs.db)])
        finally:
            rs.close()
    except Exception:  # only a hint: a store that cannot answer gives none
        return ""


def _domain_cause(e: BaseException, kind: type[Exception]) -> BaseException | None:
    """A refusal wrapped by the library (e.g. a forgotten client's event that cannot be decrypted)."""
    cause = e.__cause__
    while cause is not None:
        if isinstance(cause, kind):
            return cause
        cause = cause.__cause__
    return None


def _store_message(e: Exception) -> str | None:
    """A readable line for store failures (never a traceback for a bad store)."""
    # lazy: keeps 'coachledger --help' fast
    import sqlite3

    from coachledger.adapters.files import StoreError, describe_sqlite_error

    if isinstance(e, StoreError):
        return _no_ledger_hint(str(e))
    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, sqlite3.Error):
            return describe_sqlite_error("the SQLite store", cause)
        cause = cause.__cause__ or cause.__context__
    try:
        # lazy: the library's persistence module only when it is loaded anyway
        from eventsourcing.persistence import PersistenceError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(e, PersistenceError):
        return f"store error: {e}"
    name = type(e).__module__
    if name.startswith("psycopg"):
        return f"PostgreSQL error: {str(e).strip().splitlines()[0]}"
    return None


def _no_ledger_hint(message: str) -> str:
    """A missing ledger: say how to create one, and where the demo's ledger is when there is one."""
    if not message.startswith("no ledger at "):
        return message
    if "coachledger init" not in message:
        message += " (record something first, or run 'coachledger init')"
    demo = demo_store_path()
    if demo.exists() and not message.startswith(f"no ledger at {demo} "):
        message += f"; the demo ledger is {demo}: export COACHLEDGER_STORE={shlex.quote(str(demo))}"
    return message


class DecimalType(click.ParamType):
    name = "NUMBER"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"'{shorten(str(value))}' is not a number", param, ctx)
        if not number.is_finite():
            self.fail(f"'{shorten(str(value))}' is not a finite number", param, ctx)
        return number


class MomentType(click.ParamType):
    """An ISO date (00:00 UTC that day) or ISO datetime (UTC unless it names a zone)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value))
        except OutOfRange as e:
            self.fail(str(e), param, ctx)
        except ValueError:
            self.fail(f"'{shorten(str(value))}' is not an ISO date (YYYY-MM-DD) or datetime", param, ctx)


class ScaleType(click.ParamType):
    name = "MIN..MAX"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[Decimal, Decimal]:
        if isinstance(value, tuple):
            return value
        low, sep, high = str(value).partition("..")
        try:
            if not sep:
                raise InvalidOperation
            bounds = Decimal(low.strip()), Decimal(high.strip())
        except InvalidOperation:
            self.fail(f"'{shorten(str(value))}' is not a scale like 1..10", param, ctx)
        if not all(b.is_finite() for b in bounds):
            self.fail(f"'{shorten(str(value))}' is not a scale like 1..10", param, ctx)
        return bounds


NUMBER = DecimalType()
MOMENT = MomentType()
SCALE = ScaleType()


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")(f)


def at_option(f: F) -> F:
    return click.option("--at", type=MOMENT, help="When it was true (ISO date or datetime; default: now).")(f)


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=_read_model) + "\n")


def _read_model(value: Any) -> Any:
    """A read model (a msgspec Struct) as its fields, in declaration order."""
    # lazy: msgspec only for --json output
    from coachledger.projections.models import json_default

    return json_default(value)


def fmt_number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, float):
        return f"{value:,.10g}" if abs(value) < 1e15 else str(value)
    return str(value)


# -- shell completion of ids, from the views (no store is ever created for it) -------


def _completion_views(ctx: click.Context) -> Any:
    root = ctx.find_root()
    settings = Settings.from_values(root.params.get("store"), root.params.get("actor"))
    if settings.store.kind == "sqlite" and not (settings.store.path and settings.store.path.is_file()):
        return None
    # lazy: the read side only when completing an id
    from coachledger.projections.read import ReadSide

    return ReadSide(settings)  # catches up the views, as every read does (usually nothing to do)


def _complete(ctx: click.Context, sql: str, params: tuple[Any, ...], incomplete: str) -> list[str]:
    try:
        views = _completion_views(ctx)
        if views is None:
            return []
        try:
            rows = views.db.execute(sql, params).fetchall()
        finally:
            views.close()
    except Exception:  # no ledger, no views yet, no driver: nothing to offer, never a traceback
        return []
    return [str(r[0]) for r in rows if str(r[0]).startswith(incomplete)]


def complete_client(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The ids of the ledger's clients, for shell completion of CLIENT."""
    return _complete(ctx, "SELECT client FROM clients ORDER BY client", (), incomplete)


def complete_kpi(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The KPI ids of the CLIENT given before, for shell completion of KPI."""
    client = ctx.params.get("client") or ctx.params.get("client_id")
    if not client:
        return []
    return _complete(
        ctx,
        "SELECT DISTINCT kpi FROM kpi_versions WHERE client_key = "
        "(SELECT seq FROM clients WHERE client = ?) ORDER BY kpi",
        (client,),
        incomplete,
    )
