"""Errors of the integrity chain, one root, classified by what the caller should do."""

from __future__ import annotations


class IntegrityError(Exception):
    """Root of every error the integrity package raises on purpose."""


class NoEventStore(IntegrityError):
    """There is no event store where the configuration points: nothing to seal or verify."""


class HeadFileInvalid(IntegrityError):
    """An exported chain head could not be read or is malformed."""


class ChainMoved(IntegrityError):
    """Another sealer extended the chain meanwhile; nothing was written. Try again."""

    retriable = True


class StoreUnavailable(IntegrityError):
    """The database could not be reached or read. Retry later."""

    retriable = True
