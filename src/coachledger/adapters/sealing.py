"""The ledger's hash chain: each stored event is sealed over its stored bytes.

``seal(n) = sha256(seal(n-1) | stream id | version | topic | recorded_at | stored state)`` in
recording order, starting from 32 zero bytes. The recording time is sealed too, because
``--known-at`` answers from it. Because the seal covers the bytes as stored (ciphertext when a
store is encrypted), erasing a client's key leaves every seal valid.
"""

from __future__ import annotations

from uuid import UUID

try:  # the interpreter's own SHA-256: a one-event write need not load OpenSSL (as random.py does)
    from _sha2 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python < 3.12
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment]

GENESIS = bytes(32)


def seal(
    previous: bytes, originator_id: UUID | str, version: int, topic: str, recorded_at: str, state: bytes
) -> bytes:
    stream = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
    h = sha256(previous)
    h.update(f"{stream}\x00{version}\x00{topic}\x00{recorded_at}\x00".encode())
    h.update(state)
    return h.digest()
