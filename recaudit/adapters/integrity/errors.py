"""Errors of the integrity chain, one root, classified by what the caller should do."""

from __future__ import annotations


class ChainError(Exception):
    """Root of every error the integrity package raises on purpose."""


class NoEventStore(ChainError):
    """There is no event store where the configuration points: nothing to seal or verify."""


class HeadFileInvalid(ChainError):
    """An exported chain head could not be read or is malformed."""


class ChainMoved(ChainError):
    """Another sealer extended the chain meanwhile; nothing was written. Try again."""


class DatabaseUnreachable(ChainError):
    """The database could not be reached or read. Retry later."""


class SigningKeyInvalid(ChainError):
    """The signing key (or a public key given to check a signature) is missing, unreadable
    or not an Ed25519 key."""


class BundleUnreadable(ChainError):
    """An evidence bundle is not a readable zip archive."""
