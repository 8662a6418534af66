"""The ciphers of an encrypted store, over the per-client keys of ``keys``.

Stored ciphertext: ``0x01 | 12-byte nonce | AES-GCM(ciphertext + tag)``, with the stream
id and topic as associated data. ``cryptography`` is imported only for encrypted stores.
"""

from __future__ import annotations

import os
from typing import Any

from coachledger.adapters.files import StoreError
from coachledger.adapters.keys import (
    CLEAR_TOPICS,
    ENCRYPTION,
    FORMAT,
    NONCE_BYTES,
    Decryptor,
    KeyErased,
    KeyStore,
    open_key_store,
    read_meta,
    stream_hex,
)
from coachledger.settings import Settings


class Keyring:
    """Keys of one store, each loaded once per process, as AES-GCM objects."""

    def __init__(self, keys: KeyStore) -> None:
        # lazy: cryptography only for encrypted stores
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aesgcm = AESGCM
        self.keys = keys
        self._cache: dict[str, Any] = {}

    def for_reading(self, stream: str) -> Any | None:
        aead = self._cache.get(stream)
        if aead is None:
            key = self.keys.get(stream)
            if key is None:
                return None
            aead = self._cache[stream] = self._aesgcm(key)
        return aead

    def for_writing(self, stream: str) -> Any:
        aead = self._cache.get(stream)
        if aead is None:
            aead = self._cache[stream] = self._aesgcm(self.keys.get_or_create(stream))
        return aead

    def forget_cached(self, stream: str) -> None:
        self._cache.pop(stream, None)


def _aad(stream: str, topic: str) -> bytes:
    return f"{stream}\x00{topic}".encode()


class StreamCipher:
    """The cipher of one stream and topic, as the library's Mapper uses it."""

    __slots__ = ("_keyring", "_stream", "_topic")

    def __init__(self, keyring: Keyring, stream: str, topic: str) -> None:
        self._keyring = keyring
        self._stream = stream
        self._topic = topic

    def encrypt(self, plaintext: bytes) -> bytes:
        aead = self._keyring.for_writing(self._stream)
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT + nonce + aead.encrypt(nonce, plaintext, _aad(self._stream, self._topic))

    def decrypt(self, ciphertext: bytes) -> bytes:
        plain = decrypt_with(self._keyring, self._stream, self._topic, ciphertext)
        if plain is None:
            raise KeyErased(self._stream)
        return plain


def decrypt_with(keyring: Keyring, stream: str, topic: str, data: bytes) -> bytes | None:
    aead = keyring.for_reading(stream)
    if aead is None:
        return None
    if data[:1] != FORMAT or len(data) < 1 + NONCE_BYTES + 16:
        raise StoreError(f"an event of stream {stream} is not in this ledger's encrypted format")
    # lazy: cryptography only for encrypted stores
    from cryptography.exceptions import InvalidTag

    try:
        return bytes(aead.decrypt(data[1 : 1 + NONCE_BYTES], data[1 + NONCE_BYTES :], _aad(stream, topic)))
    except InvalidTag:
        raise StoreError(
            f"an event of stream {stream} fails its authentication check: its stored bytes were "
            "changed (run 'coachledger verify')"
        ) from None


class Ciphers:
    """``(originator_id, topic) -> cipher | None``: what ``codec.MsgspecMapper`` asks for."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def __call__(self, originator_id: Any, topic: str) -> StreamCipher | None:
        if topic in CLEAR_TOPICS:
            return None
        return StreamCipher(self.keyring, stream_hex(originator_id), topic)


def ciphers_for(settings: Settings) -> Ciphers | None:
    """Per-client ciphers when the store is encrypted, else None (events stored in clear)."""
    meta = read_meta(settings.store)
    if meta.get("encryption") != ENCRYPTION:
        return None
    return Ciphers(Keyring(_checked(open_key_store(settings, meta))))


def _checked(keys: KeyStore) -> KeyStore:
    """Open the key store now: a missing or foreign key file is one clear error, before any event."""
    keys.get("")
    return keys


def _clear(stream: str, topic: str, state: bytes) -> bytes | None:
    return state


CLEAR: Decryptor = _clear  # what ``open_decryptor`` gives for an unencrypted store


def open_decryptor(settings: Settings) -> Decryptor:
    """A function ``(stream_hex, topic, stored_state) -> plaintext bytes | None`` for the read side.

    Call it once per command and pass every stored event's ``originator_id`` (32 hex
    digits as stored; dashes and UUIDs are accepted too), ``topic`` and ``state``:

    - an unencrypted store gives the stored bytes back unchanged;
    - an encrypted store gives the plaintext JSON (decode it with ``codec.decode_payload``),
      or **None when the client's key was destroyed** (a forgotten client): show a
      placeholder for that event instead of its content;
    - ``ClientForgotten`` events are stored in clear and are always returned as they are.

    Raises ``StoreError`` when the key store is missing or belongs to another ledger, and
    when an event's ciphertext fails authentication (its bytes were changed). Keys are
    loaded once per stream and kept for the life of the function.
    """
    meta = read_meta(settings.store)
    if meta.get("encryption") != ENCRYPTION:
        return _clear
    keyring = Keyring(_checked(open_key_store(settings, meta)))

    def decrypt(stream: str, topic: str, state: bytes) -> bytes | None:
        if topic in CLEAR_TOPICS:
            return state
        return decrypt_with(keyring, stream_hex(stream), topic, bytes(state))

    return decrypt
