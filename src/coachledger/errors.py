"""The ledger's refusals (stdlib only, so that every command can map them cheaply)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the ledger refused the command; nothing was written."""


class ClientNotFound(DomainError):
    def __init__(self, client: str) -> None:
        shown = client if len(client) <= 80 else f"{client[:80]}… ({len(client)} characters)"
        super().__init__(f"unknown client '{shown}'")


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


class FromTheFuture(InvalidValue):
    """A measurement or baseline dated after the moment it is recorded."""
