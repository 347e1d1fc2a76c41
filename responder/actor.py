"""Who acts on an incident: a person from the API, or a system part (crawler, clock, responder)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acts; the API builds it from the logged-in user.

    >>> Actor("system:crawler", "130123.housing", "system").role
    'system'
    """

    username: str
    unit_id: str
    role: str  # "publicity" | "unit" | "leader" | "admin" | "system"
