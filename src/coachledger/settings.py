"""Where the ledger lives and who is writing: resolved once, at the edge."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit


class SettingsError(Exception):
    """A store URL or setting that cannot be used."""


class StoreLocation(NamedTuple):
    kind: str  # "sqlite" | "postgres"
    path: Path | None = None  # sqlite
    url: str = ""  # postgres: the libpq URL

    def describe(self) -> str:
        if self.kind == "sqlite":
            return str(self.path)
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        return f"postgresql://{host}:{parts.port or 5432}{parts.path}"


def default_store_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "coachledger" / "ledger.sqlite"


def demo_store_path() -> Path:
    """The demo's own file, next to the default ledger but never the ledger itself."""
    return default_store_path().with_name("demo.sqlite")


def parse_store(value: str | None) -> StoreLocation:
    """A plain path, a ``sqlite:///`` URL (SQLAlchemy's convention) or a ``postgresql://`` URL."""
    if not value:
        return StoreLocation("sqlite", path=default_store_path())
    if value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = value.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError as e:
            raise SettingsError(f"the PostgreSQL URL cannot be read ({e})") from None
        if not parts.path.strip("/"):
            raise SettingsError(f"PostgreSQL URL '{value}' names no database (…/dbname)")
        return StoreLocation("postgres", url=url)
    if value.startswith("sqlite:"):
        if not value.startswith("sqlite:///"):
            raise SettingsError(f"store URL '{value}' should look like sqlite:///path/to/file.sqlite")
        path = value[len("sqlite:///") :]
        if not path or path.startswith(":memory:"):
            raise SettingsError("the store must be a file, not an in-memory database")
        return StoreLocation("sqlite", path=Path(path))
    if "://" in value:
        scheme = value.split("://", 1)[0]
        raise SettingsError(
            f"unsupported store scheme '{scheme}' (use a file path, sqlite:/// or postgresql://)"
        )
    return StoreLocation("sqlite", path=Path(value).expanduser())


def default_actor() -> str:
    import getpass  # only when no actor is given

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


class Settings(NamedTuple):
    store: StoreLocation
    actor: str

    @classmethod
    def from_values(cls, store: str | None, actor: str | None) -> Settings:
        store = store or os.environ.get("COACHLEDGER_STORE") or None
        actor = actor or os.environ.get("COACHLEDGER_ACTOR") or default_actor()
        return cls(parse_store(store), actor)
