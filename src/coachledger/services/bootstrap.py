"""The composition root: build the write side and the read side from settings.

Nothing here runs at import time; each builder opens only what its command needs, and
PostgreSQL support is imported only when the store is PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coachledger.adapters.ciphers import ledger_keys
from coachledger.adapters.eventstore import ledger_infrastructure
from coachledger.adapters.keys import ensure_meta_table, init_encryption
from coachledger.settings import Settings

if TYPE_CHECKING:
    from coachledger.application import Ledger


def open_ledger(settings: Settings) -> Ledger:
    """The write side, with its tables created on first use, its ciphers (an encrypted store:
    whether it is one is read from the store itself, ``ledger_meta``, so every process agrees)
    and its stream ids (``coachledger.ids``)."""
    # lazy: export and import never build the write side
    from coachledger.application import Ledger

    env, factory = ledger_infrastructure(settings.store)
    keys = ledger_keys(settings)
    ledger = Ledger(env, factory, settings.actor, keys.ciphers, keys.ids)
    ledger.settings = settings
    return ledger


def init_store(settings: Settings, *, encrypt: bool = False) -> str:
    """Create the store's tables; with ``encrypt``, mark it encrypted and create its key store,
    holding the secret its clients' stream ids are derived with (``keyed-v1``).

    Encryption is decided before the first event: asking for it on a store that already
    holds unencrypted events is refused, and changes nothing.
    """
    if encrypt:
        init_encryption(settings)
    open_ledger(settings)
    ensure_meta_table(settings.store)
    return settings.store.describe()
