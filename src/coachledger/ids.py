"""Stream ids of clients (stdlib only, shared by the write and read sides)."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c7c52-4a4e-4d67-9d5e-3b1f2a9c0e11")


def client_id(slug: str) -> UUID:
    """The stream id of a client: derived from the slug, so the slug itself is never stored in clear."""
    return uuid5(NAMESPACE, slug)


def stream_of(slug: str) -> str:
    """The stream id as the stores keep it (32 hex digits)."""
    return client_id(slug).hex
