"""The ledger's hash chain: each stored event is sealed over its stored bytes.

``seal(n) = sha256(seal(n-1) | stream id | version | topic | stored state)`` in recording
order, starting from 32 zero bytes. Because the seal covers the bytes as stored
(ciphertext when a store is encrypted), erasing a client's key leaves every seal valid.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

GENESIS = bytes(32)


def seal(previous: bytes, originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    stream = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
    h = hashlib.sha256(previous)
    h.update(f"{stream}\x00{version}\x00{topic}\x00".encode())
    h.update(state)
    return h.digest()
