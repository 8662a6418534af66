"""Stream ids of clients and coaches (stdlib only, shared by the write and read sides)."""

from __future__ import annotations

from uuid import UUID

try:  # the interpreter's own SHA-1: uuid.uuid5 would load OpenSSL's hashlib (~3 ms a command)
    from _sha1 import sha1
except ImportError:  # pragma: no cover
    from hashlib import sha1

NAMESPACE = UUID("6f1c7c52-4a4e-4d67-9d5e-3b1f2a9c0e11")


def client_id(slug: str) -> UUID:
    """The stream id of a client: derived from the slug, so the slug itself is never stored in clear."""
    return UUID(bytes=sha1(NAMESPACE.bytes + slug.encode()).digest()[:16], version=5)  # = uuid5


def stream_of(slug: str) -> str:
    """The stream id as the stores keep it (32 hex digits)."""
    return client_id(slug).hex


def coach_id(name: str) -> UUID:
    """The stream id of a coach: derived from the name, apart from every client's (a client id
    never holds ':')."""
    return UUID(bytes=sha1(NAMESPACE.bytes + b"coach:" + name.encode()).digest()[:16], version=5)
