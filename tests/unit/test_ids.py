"""Stream ids: the public uuid5 and the keyed scheme of encrypted ledgers (coachledger.ids)."""

from __future__ import annotations

import ast
import hmac
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from coachledger.ids import KEYED_V1, NAMESPACE, PUBLIC, UUID5, KeyedIds, client_id, stream_ids

SLUGS = ("ana-lopez", "b", "", "zoë-ß✓", "x" * 5000)


@pytest.mark.parametrize("size", [16, 32, 64, 65, 200])
def test_keyed_ids_are_hmac_sha256_of_the_slug_as_a_version_8_uuid(size: int) -> None:
    secret = bytes(range(size % 256)) * (size // 256) + bytes(range(size % 256))
    assert len(secret) == size
    ids = KeyedIds(secret)
    for slug in SLUGS:
        mac = hmac.new(secret, slug.encode(), "sha256").digest()
        assert ids.mac(slug.encode()) == mac
        got = ids.client_id(slug)
        assert got.version == 8 and got.variant == uuid.RFC_4122
        # every bit of the first 16 bytes of the MAC but the version and variant bits
        masked = bytearray(mac[:16])
        masked[6] = (masked[6] & 0x0F) | 0x80
        masked[8] = (masked[8] & 0x3F) | 0x80
        assert got.bytes == bytes(masked)
        assert ids.stream_of(slug) == got.hex and len(got.hex) == 32
        assert ids.client_id(slug) == got  # cached, the same


def test_without_the_secret_the_keyed_id_is_not_the_public_one_nor_another_ledgers() -> None:
    one, other = KeyedIds(b"\x01" * 32), KeyedIds(b"\x02" * 32)
    for slug in SLUGS:
        assert one.client_id(slug) != client_id(slug) == uuid.uuid5(NAMESPACE, slug)
        assert one.client_id(slug) != other.client_id(slug)
    assert one.scheme == KEYED_V1 and PUBLIC.scheme == UUID5


def test_the_scheme_named_in_ledger_meta() -> None:
    assert stream_ids(None) is PUBLIC and stream_ids(UUID5) is PUBLIC  # a ledger from before the record
    keyed = stream_ids(KEYED_V1, b"\x07" * 32)
    assert isinstance(keyed, KeyedIds) and keyed.client_id("ana") == KeyedIds(b"\x07" * 32).client_id("ana")
    for scheme, secret in ((KEYED_V1, None), ("keyed-v9", b"\x07" * 32)):
        with pytest.raises(ValueError):
            stream_ids(scheme, secret)
    with pytest.raises(ValueError):
        KeyedIds(b"short")


def test_keyed_ids_load_neither_hmac_nor_openssls_hashlib() -> None:
    """The read path's start-up: the interpreter's own SHA-256 only (OpenSSL's costs ~4 ms)."""
    code = (
        "import sys\n"
        "from coachledger.ids import KeyedIds\n"
        "KeyedIds(b'k' * 32).client_id('ana')\n"
        "print(sorted(m for m in ('hmac', 'hashlib', '_hashlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


ROOT = Path(__file__).resolve().parents[2]
# Where the public uuid5 of a slug is the right id; everything else asks the ledger (``Ledger.ids``,
# ``ReadSide.stream_of``, ``adapters.ciphers.ledger_keys(settings).ids``), whose ids may be keyed.
PUBLIC_ID_USERS = {
    "src/coachledger/ids.py",
    "src/coachledger/domain/__init__.py",  # re-exported
    "src/coachledger/domain/client.py",  # register's default, when no ledger gives an id (unit tests)
    "src/coachledger/services/transfer/export.py",  # an export carries the public ids
    "src/coachledger/services/transfer/lines.py",  # and an import checks a file's lines against them
    "scripts/bench_verify.py",  # writes an unencrypted store of its own, row by row
}


def test_only_exports_and_the_domains_default_derive_the_public_ids() -> None:
    """Every other stream id of a slug comes from the ledger's own scheme (keyed on encrypted ledgers)."""
    users = set()
    for folder in ("src", "projections", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.module == "coachledger.ids"
                    and {a.name for a in node.names} & {"client_id", "stream_of"}
                ):
                    users.add(str(path.relative_to(ROOT)))
    assert users - PUBLIC_ID_USERS == set(), "derive stream ids with the ledger's StreamIds"
    assert "src/coachledger/services/transfer/export.py" in users  # the scan finds them
