"""Errors raised by genpage. Each message says what went wrong and how to fix it."""

from __future__ import annotations


class GenpageError(Exception):
    """Base class of every error genpage raises on purpose."""

    retryable: bool = False


class ConfigError(GenpageError):
    """A setting is missing or has a value genpage cannot use."""


class ModelNotAvailableError(GenpageError):
    """A model could not be found locally; the message names the `pip install` line that fixes it."""


class ChecksumError(GenpageError):
    """A model file's sha256 does not match the registry: it is never loaded."""


class IngestError(GenpageError):
    """Input data is malformed. Names the file, the row (1-based, header excluded) and the field."""

    def __init__(self, message: str, *, source: str = "", row: int | None = None, field: str | None = None):
        super().__init__(message)
        self.source = source
        self.row = row
        self.field = field


class StoreError(GenpageError):
    """The store cannot be used as asked: it does not exist, is not a genpage store, or lacks what is needed."""


class StoreNotFoundError(StoreError):
    """A command that reads the store was pointed at a file that does not exist (a mistyped --db?); names the
    path and the `genpage ingest` that makes it. Reading never creates a store."""


class EmptyStoreError(StoreError):
    """The store lacks the data a task needs (no products to show, no baskets to learn from); says what to
    ingest."""


class UnknownUserError(GenpageError):
    """The user id is not in the store (raised only with strict=True)."""


class UnknownProductError(GenpageError):
    """A product id is not in the store."""


class CampaignError(GenpageError):
    """A campaign file is invalid; names the line and field."""


class BackendError(GenpageError):
    """A text-model backend failed (timeouts and server errors are retryable)."""
