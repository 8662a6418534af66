"""Stream ids of clients and coaches (stdlib only, shared by the write and read sides).

A client's stream id is derived from its slug, so that the slug itself is never stored in
clear. A ledger derives it by one of two schemes, recorded in its ``ledger_meta`` table
(``stream_ids``; a ledger without the record uses ``uuid5``):

- ``uuid5``: the UUID5 of a published namespace and the slug. Anyone can compute it from
  a guessed slug. Unencrypted ledgers use it (their events name the client in clear
  anyway), as do encrypted ledgers created before keyed ids; export files carry it for
  every ledger, as the client's public id (``client_id``, ``stream_of``).
- ``keyed-v1`` (encrypted ledgers, ``init --encrypt``): HMAC-SHA256 of the slug under a
  random per-ledger secret kept with the ledger's keys, its first 128 bits marked as a
  version-8 UUID. Without the secret a stream id cannot be tied to a guessed slug.

A coach's stream id (``coach_id``) is public in every ledger: the UUID5-like id of its name,
apart from every client's (a slug never holds ':').
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

try:  # the interpreter's own SHA-1: uuid.uuid5 would load OpenSSL's hashlib (~3 ms a command)
    from _sha1 import sha1
except ImportError:  # pragma: no cover
    from hashlib import sha1

NAMESPACE = UUID("6f1c7c52-4a4e-4d67-9d5e-3b1f2a9c0e11")
UUID5 = "uuid5"
KEYED_V1 = "keyed-v1"
SCHEMES = (UUID5, KEYED_V1)
SECRET_BYTES = 32  # a keyed ledger's secret: 256 random bits
_BLOCK = 64  # SHA-256's block size, for HMAC's key pads


def client_id(slug: str) -> UUID:
    """The public id of a client: the UUID5 of the published namespace and the slug."""
    return UUID(bytes=sha1(NAMESPACE.bytes + slug.encode()).digest()[:16], version=5)  # = uuid5


def stream_of(slug: str) -> str:
    """The public id as the stores keep stream ids (32 hex digits)."""
    return client_id(slug).hex


class StreamIds:
    """How one ledger derives its clients' stream ids from their slugs: here, ``uuid5``."""

    scheme = UUID5

    def client_id(self, slug: str) -> UUID:
        return client_id(slug)

    def stream_of(self, slug: str) -> str:
        """The stream id as the stores keep it (32 hex digits)."""
        return self.client_id(slug).hex


class KeyedIds(StreamIds):
    """``keyed-v1``: HMAC-SHA256(secret, slug), the first 16 bytes as a version-8 UUID (RFC 9562).

    HMAC (RFC 2104) is computed here over the interpreter's own SHA-256: the ``hmac`` module
    would load OpenSSL's hashlib, some 4 ms of every command on an encrypted ledger.
    ``tests/unit/test_ids.py`` holds it to ``hmac.new(secret, slug, "sha256")``.
    """

    scheme = KEYED_V1

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a stream-id secret has at least 128 bits")
        sha256 = _sha256()
        key = (sha256(secret).digest() if len(secret) > _BLOCK else secret).ljust(_BLOCK, b"\0")
        self._inner = sha256(bytes(b ^ 0x36 for b in key))
        self._outer = sha256(bytes(b ^ 0x5C for b in key))
        self._cache: dict[str, UUID] = {}

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under the ledger's secret."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return bytes(outer.digest())

    def client_id(self, slug: str) -> UUID:
        found = self._cache.get(slug)
        if found is None:
            raw = bytearray(self.mac(slug.encode())[:16])
            raw[6] = (raw[6] & 0x0F) | 0x80  # version 8: a custom (here: keyed) UUID
            raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC's variant
            found = UUID(bytes=bytes(raw))
            if len(self._cache) < 4096:
                self._cache[slug] = found
        return found


PUBLIC = StreamIds()
"""The ``uuid5`` scheme: old and unencrypted ledgers, and the ids export files carry."""


def stream_ids(scheme: str | None, secret: bytes | None = None) -> StreamIds:
    """The scheme named in a ledger's ``ledger_meta`` (None: a ledger from before the record)."""
    if scheme is None or scheme == UUID5:
        return PUBLIC
    if scheme == KEYED_V1 and secret is not None:
        return KeyedIds(secret)
    raise ValueError(scheme)


def _sha256() -> Any:
    """The interpreter's own SHA-256 (OpenSSL's, in hashlib, costs some 4 ms to load)."""
    # lazy: only keyed ledgers hash with SHA-256
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:  # pragma: no cover - Python 3.12 merged it into _sha2
        try:
            from _sha2 import sha256  # lazy: as above
        except ImportError:  # an interpreter built without its own SHA-256
            from hashlib import sha256
    return sha256


def coach_id(name: str) -> UUID:
    """The stream id of a coach: derived from the name, apart from every client's (a client id
    never holds ':')."""
    return UUID(bytes=sha1(NAMESPACE.bytes + b"coach:" + name.encode()).digest()[:16], version=5)
