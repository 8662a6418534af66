"""The ledger's refusals (stdlib only, so that every command can map them cheaply)."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """A rule of the ledger refused the command; nothing was written."""


class ClientNotFound(DomainError):
    def __init__(self, client: str, known: Iterable[str] = ()) -> None:
        shown = client if len(client) <= 80 else f"{client[:80]}… ({len(client)} characters)"
        super().__init__(f"unknown client '{shown}'{did_you_mean(client, known)}")
        self.client = client


class DuplicateId(DomainError):
    pass


class UnknownId(DomainError):
    pass


class OutsideScale(DomainError):
    pass


class RetiredKpi(DomainError):
    pass


class ReasonRequired(DomainError):
    pass


class InvalidValue(DomainError):
    pass


class ClientWasForgotten(DomainError):
    pass


class CheckinRefused(DomainError):
    """A check-in link or form that takes no answers: ``why`` is ``unknown`` (no such token, or an
    altered one), ``revoked``, ``expired`` or ``used`` (a form answered already)."""

    def __init__(self, why: str, message: str) -> None:
        super().__init__(message)
        self.why = why


class NeedsConfirmation(InvalidValue):
    """A value that may be real but looks like a mistake: recorded only when confirmed (--yes)."""


class FromTheFuture(InvalidValue):
    """A measurement or baseline dated after the moment it is recorded."""


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the ids closest to a mistyped one, or nothing."""
    # lazy: difflib only for a mistyped id
    import difflib

    close = difflib.get_close_matches(word, [k for k in known if k != word], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
