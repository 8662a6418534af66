"""The composition root: build the write side and the read side from settings.

Nothing here runs at import time; each builder opens only what its command needs, and
PostgreSQL support is imported only when the store is PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coachledger.adapters.ciphers import ciphers_for
from coachledger.adapters.eventstore import ledger_infrastructure
from coachledger.adapters.keys import ensure_meta_table, init_encryption
from coachledger.settings import Settings

if TYPE_CHECKING:
    from coachledger.application import Ledger


def open_ledger(settings: Settings) -> Ledger:
    """The write side, with its tables created on first use."""
    # lazy: export and import never build the write side
    from coachledger.application import Ledger

    env, factory = ledger_infrastructure(settings.store)
    ledger = Ledger(env, factory, settings.actor, cipher_for(settings))
    ledger.settings = settings
    return ledger


def cipher_for(settings: Settings) -> Any:
    """Per-client ciphers when the store is encrypted, else None.

    The result is ``codec.MsgspecMapper``'s ``cipher_for``: ``(originator_id, topic) ->
    cipher | None``. Whether a store is encrypted is read from the store itself
    (``ledger_meta``), so every process agrees; ``cryptography`` is imported only then.
    """
    return ciphers_for(settings)


def init_store(settings: Settings, *, encrypt: bool = False) -> str:
    """Create the store's tables; with ``encrypt``, mark it encrypted and create its key store.

    Encryption is decided before the first event: asking for it on a store that already
    holds unencrypted events is refused, and changes nothing.
    """
    if encrypt:
        init_encryption(settings)
    open_ledger(settings)
    ensure_meta_table(settings.store)
    return settings.store.describe()
