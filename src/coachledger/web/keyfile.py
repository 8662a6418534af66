"""The server's session key: 32 random bytes in a file only its owner may read.

Beside a SQLite ledger: ``<ledger>.session-key``. For a PostgreSQL ledger, in the user's
configuration folder: ``$XDG_CONFIG_HOME/coachledger/session-keys/<host>-<port>-<database>.key``
(``~/.config`` without XDG_CONFIG_HOME). ``serve --key-file`` puts it elsewhere (several hosts
serving one PostgreSQL ledger share one key by sharing the file). Created on first start,
through ``adapters.files`` (0600, atomic, never through a planted link); a key file that
others may read is refused. Whoever holds the key can make sessions: keep it like the ledger.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from coachledger.adapters.files import write_private
from coachledger.errors import DomainError
from coachledger.settings import StoreLocation

KEY_BYTES = 32


class KeyFileError(DomainError):
    """The session key file cannot be used."""


def key_file_for(store: StoreLocation) -> Path:
    if store.kind == "sqlite" and store.path is not None:
        return store.path.with_name(store.path.name + ".session-key")
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    where = re.sub(r"[^A-Za-z0-9._-]+", "-", store.describe().removeprefix("postgresql://")).strip("-")
    return base / "coachledger" / "session-keys" / f"{where}.key"


def ensure_key(path: Path) -> bytes:
    """The key in ``path``, created there first if there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(path, secrets.token_hex(KEY_BYTES) + "\n")
    return read_key(path)


def read_key(path: Path) -> bytes:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"the session key file {path} is not a plain file")
        if info.st_mode & 0o077:
            raise KeyFileError(
                f"the session key file {path} may be read by others (mode {stat.S_IMODE(info.st_mode):o}): "
                f"chmod 600 {path}"
            )
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"cannot read the session key file {path}: {e}") from None
    if not re.fullmatch(r"[0-9a-f]{64,}", text):
        raise KeyFileError(f"the session key file {path} does not hold a key (64 hex digits)")
    return bytes.fromhex(text)
