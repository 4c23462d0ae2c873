"""Domain errors. Each message says what was seen and how to get out."""

from __future__ import annotations

__all__ = [
    "EcrmError",
    "ConfigError",
    "DataSourceError",
    "DataValidationError",
    "NotebookParameterError",
    "RunFailedError",
]


class EcrmError(Exception):
    """Base class of every error this suite raises on purpose."""


class ConfigError(EcrmError, ValueError):
    """The YAML configuration is missing, malformed or names unknown things."""


class DataSourceError(EcrmError, ValueError):
    """A source file cannot be read: missing, empty, malformed or wrongly encoded.

    The message names the file and, where known, the line.
    """


class DataValidationError(EcrmError, ValueError):
    """Rows of a source break the canonical schema.

    Attributes
    ----------
    failures : pandas.DataFrame
        One row per problem with columns ``file``, ``line``, ``column``,
        ``value``, ``problem`` and ``fix``; all problems, not only the first.
    """

    def __init__(self, message: str, failures=None):
        super().__init__(message)
        self.failures = failures


class NotebookParameterError(EcrmError, ValueError):
    """A parameter given for a notebook is unknown or of the wrong type."""


class RunFailedError(EcrmError, RuntimeError):
    """A suite run failed; the previous published report is left in place."""
