"""Who is calling: the logged-in user as the API and the workflow see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huiyin.config.org import OrgDirectory
from huiyin.responder.store.tables import User


@dataclass(frozen=True)
class Principal:
    """A logged-in user: one unit, one role. Built from the database on every request."""

    username: str
    role: str  # publicity | unit | leader | admin
    unit_id: str
    jurisdiction_id: str
    display_name: str | None = None

    @classmethod
    def of(cls, user: User, org: OrgDirectory) -> Principal:
        """The principal of a user row; the jurisdiction comes from the unit in the directory."""
        unit = org.units.get(user.unit_id)
        jid = unit.jurisdiction_id if unit else user.unit_id.split(".", 1)[0]
        return cls(user.username, user.role, user.unit_id, jid, user.display_name)

    @property
    def read_only(self) -> bool:
        """Leaders review; they never change an incident."""
        return self.role == "leader"

    def actor(self) -> Any:
        """The workflow's ``Actor`` for this user."""
        from huiyin.responder.workflow import Actor

        return Actor(username=self.username, unit_id=self.unit_id, role=self.role)
