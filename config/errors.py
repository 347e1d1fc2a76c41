"""The project's exception tree.

HuiyinError                 base of every error 回音 raises on purpose
├── ConfigError             configuration missing or invalid (names the key and the file)
├── OrgDirectoryError       org directory inconsistent (names the offending entry)
│   └── UnknownOrgEntryError  lookup of an unknown jurisdiction/unit/field id (also a KeyError)
├── BusError                message bus unavailable or misused
├── StoreError              database unavailable or schema mismatch
└── WorkflowError           a workflow command refused (the reason is user-facing Chinese)
"""

from __future__ import annotations


class HuiyinError(Exception):
    """Base class of every error raised on purpose by 回音."""


class ConfigError(HuiyinError):
    """Configuration is missing or invalid."""

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        self.key = key
        self.source = source
        where = []
        if key:
            where.append(f"key '{key}'")
        if source:
            where.append(f"in {source}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class OrgDirectoryError(ConfigError):
    """The org directory is inconsistent."""


class UnknownOrgEntryError(OrgDirectoryError, KeyError):
    """An id that the org directory does not hold; ``except KeyError`` catches it too."""

    __str__ = Exception.__str__  # KeyError would print the message in quotes


class BusError(HuiyinError):
    """The message bus failed or was misused."""


class StoreError(HuiyinError):
    """The database failed or its schema does not match."""


class WorkflowError(HuiyinError):
    """A workflow command was refused; ``reason`` is shown to the user."""

    def __init__(self, reason: str, *, code: str = "refused") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)
