"""Who may see what: coaches, their passwords, and the one rule every page obeys.

A coach sees and changes only the clients whose coach (as last updated) they are; an
admin sees every client. ``client_for`` is the single place that rule is applied: every
page, JSON answer, form and report download of ``coachledger serve`` resolves its client
through it. Another coach's client is refused exactly as an unknown client is
(``ClientNotFound``), so nobody learns which client ids exist by trying them.

Passwords are hashed with argon2id (``argon2-cffi``, an extra: ``pip install
'coachledger[web]'``) before anything is recorded; the hash goes into the coach's event,
the password nowhere.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coachledger.errors import ClientNotFound, DomainError, InvalidValue
from coachledger.projections import coaches

if TYPE_CHECKING:
    from coachledger.application import Ledger
    from coachledger.projections.read import ReadSide

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a sign-in cheap to refuse
WEB_EXTRA = "pip install 'coachledger[web]'"
# OWASP's argon2id profile: 19 MiB, 2 passes, 1 lane (a server answering many coaches keeps
# its memory small); a hash names its own parameters, so older hashes keep verifying.
TIME_COST, MEMORY_KIB, LANES = 2, 19 * 1024, 1
_HASHING = threading.BoundedSemaphore(2)  # hashes at once per process: memory stays bounded


class ExtraMissing(DomainError):
    """An optional dependency of a command is not installed."""


@dataclass(frozen=True)
class Viewer:
    """A signed-in coach: whose clients they see (all of them, for an admin)."""

    name: str
    admin: bool = False
    version: int = 0  # the coach's stream version when they signed in

    @property
    def coach_filter(self) -> str | None:
        """The ``coach`` a list of clients is filtered by: None (every client) for an admin."""
        return None if self.admin else self.name


def client_for(rs: ReadSide, viewer: Viewer, slug: str) -> dict[str, Any]:
    """The client ``slug`` as ``viewer`` may see it, or ``ClientNotFound`` exactly as for an
    unknown client: another coach's client, or a client forgotten on request."""
    try:
        client = rs.client(slug)
    except DomainError:  # unknown, or forgotten: the same answer
        raise ClientNotFound(slug) from None
    if not viewer.admin and client["coach"] != viewer.name:
        raise ClientNotFound(slug)
    return client


# -- passwords ----------------------------------------------------------------------------


def _hasher() -> Any:
    try:
        # lazy: argon2-cffi is an extra (coachledger[web]), needed only by coaches and serve
        from argon2 import PasswordHasher
    except ImportError:
        raise ExtraMissing(f"coaches and their passwords need the web extra: {WEB_EXTRA}") from None
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=LANES)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidValue(f"a password may have at most {MAX_PASSWORD} characters")
    if password != password.strip():
        raise InvalidValue("a password must not start or end with a space")


def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password (``check_password``)."""
    check_password(password)
    hasher = _hasher()
    with _HASHING:
        return str(hasher.hash(password))


def _matches(password_hash: str, password: str) -> bool:
    # lazy: argon2-cffi is an extra (coachledger[web])
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        with _HASHING:
            return bool(hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


_DECOY: list[str] = []


def _decoy_hash() -> str:
    """A hash to verify against when the name is unknown: a refusal takes as long either way."""
    if not _DECOY:
        _DECOY.append(hash_password("not the password of anybody"))
    return _DECOY[0]


# -- the coaches of the practice ----------------------------------------------------------


def add_coach(ledger: Ledger, name: str, password: str, *, admin: bool = False) -> str:
    return ledger.add_coach(name, admin, hash_password(password))


def change_password(ledger: Ledger, name: str, password: str) -> None:
    ledger.coach(name)  # an unknown coach is refused before a hash is made
    ledger.change_coach_password(name, hash_password(password))


def sign_in(rs: ReadSide, name: str, password: str) -> Viewer | None:
    """The viewer for a right name and password of a coach who is not disabled, else None
    (which of them was wrong is not said)."""
    found = coaches.coach(rs.db, name, rs.decrypt) if len(name) <= 64 and len(password) <= MAX_PASSWORD else None
    if found is None or found.disabled:
        _matches(_decoy_hash(), password)
        return None
    if not _matches(found.password_hash, password):
        return None
    return Viewer(found.name, found.admin, found.version)


def still_valid(rs: ReadSide, name: str, version: int) -> Viewer | None:
    """The viewer of a session made at ``version`` of the coach's stream, while nothing has
    changed since: a new password, a disabling (or anything else recorded of the coach)
    ends every session made before it."""
    found = coaches.coach(rs.db, name, rs.decrypt)
    if found is None or found.disabled or found.version != version:
        return None
    return Viewer(found.name, found.admin, found.version)
