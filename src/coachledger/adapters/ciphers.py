"""The ciphers of an encrypted store, over the per-client keys of ``keys``; and the stream ids
of a ledger, whose secret (keyed ids) lives with those keys.

Stored ciphertext: ``0x01 | 12-byte nonce | AES-GCM(ciphertext + tag)``, with the stream
id and topic as associated data. ``cryptography`` is imported only for encrypted stores.
``ledger_keys`` reads the store's ``ledger_meta`` once and gives a command all three: the
write side's ciphers, the read side's decryptor and the ledger's ``StreamIds``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from coachledger.adapters.files import StoreError
from coachledger.adapters.keys import (
    CLEAR_TOPICS,
    ENCRYPTION,
    FORMAT,
    NONCE_BYTES,
    STREAM_IDS,
    Decryptor,
    KeyErased,
    KeyStore,
    open_key_store,
    read_meta,
    stream_hex,
)
from coachledger.ids import KEYED_V1, PUBLIC, UUID5, StreamIds, stream_ids
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
    return ledger_keys(settings).ciphers


def _checked(keys: KeyStore) -> KeyStore:
    """Open the key store now: a missing or foreign key file is one clear error, before any event."""
    keys.get("")
    return keys


def _clear(stream: str, topic: str, state: bytes) -> bytes | None:
    return state


CLEAR: Decryptor = _clear  # what ``open_decryptor`` gives for an unencrypted store


@dataclass(frozen=True)
class LedgerKeys:
    """What a command needs of a ledger's keys, from one reading of its ``ledger_meta``."""

    ids: StreamIds  # how the ledger derives a client's stream id from its slug
    keyring: Keyring | None = None  # None: the events are stored in clear

    @property
    def ciphers(self) -> Ciphers | None:
        """``codec.MsgspecMapper``'s ``cipher_for``, None for a store without encryption."""
        return None if self.keyring is None else Ciphers(self.keyring)

    @property
    def decrypt(self) -> Decryptor:
        """The read side's decryptor (see ``open_decryptor``)."""
        keyring = self.keyring
        if keyring is None:
            return _clear

        def decrypt(stream: str, topic: str, state: bytes) -> bytes | None:
            if topic in CLEAR_TOPICS:
                return state
            return decrypt_with(keyring, stream_hex(stream), topic, bytes(state))

        return decrypt


def ledger_keys(settings: Settings) -> LedgerKeys:
    """The ledger's ciphers and stream ids. Raises ``StoreError`` (one line) when its key store is
    missing, belongs to another ledger, or lacks the secret its stream ids are derived with."""
    meta = read_meta(settings.store)
    encrypted = meta.get("encryption") == ENCRYPTION
    if not encrypted and STREAM_IDS not in meta:
        return LedgerKeys(PUBLIC)  # no key store: its stream ids are the public ones
    keys = _checked(open_key_store(settings, meta))
    return LedgerKeys(ledger_stream_ids(meta, keys), Keyring(keys) if encrypted else None)


def ledger_stream_ids(meta: dict[str, str], keys: KeyStore) -> StreamIds:
    """The scheme ``ledger_meta`` names, with the secret the key store holds for it.

    A key store holding a secret for a ledger whose record says nothing is refused too: the
    record was removed (reading by uuid5 would find no client, and writing would split them).
    """
    scheme = meta.get(STREAM_IDS)
    secret = keys.stream_secret()
    if scheme == KEYED_V1 and secret is None:
        raise StoreError(
            f"{keys.describe()} holds no stream-id secret: this ledger derives its clients' stream ids "
            "from it and finds no client without it (restore the key store from a backup)"
        )
    if scheme is None and secret is not None:
        raise StoreError(
            f"this ledger's record of how it derives stream ids ('{STREAM_IDS}' in ledger_meta) is missing, "
            f"while {keys.describe()} holds a secret for keyed ids: restore the store from a backup"
        )
    if scheme not in (None, UUID5, KEYED_V1):
        raise StoreError(
            f"this ledger derives its stream ids by '{scheme}', which this version of coachledger does not "
            "know: use a newer one"
        )
    return stream_ids(scheme, secret)


def stream_ids_for(settings: Settings) -> StreamIds:
    """How the ledger at ``settings`` derives its clients' stream ids."""
    return ledger_keys(settings).ids


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
    return ledger_keys(settings).decrypt
