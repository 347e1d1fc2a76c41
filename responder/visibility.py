"""Who may see which incidents. The API filters lists with ``visible_filter``; the workflow checks
``can_see`` before any command.

- unit: incidents it holds, leads or co-handles, or that are being transferred to it;
- publicity and leader: incidents whose place lies in their unit's jurisdiction or below it;
- admin and system: everything.

Scope by place uses ``Incident.jurisdiction_path`` ("/130000/130100/130123/"), written by the
responder from the org directory whenever the place is set.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, cast, false, or_, true

from huiyin.config.org import OrgDirectory
from huiyin.responder.store.tables import Incident

if TYPE_CHECKING:
    from huiyin.responder.actor import Actor

SCOPED_ROLES = ("publicity", "leader")
ALL_ROLES = ("admin", "system")


def jurisdiction_path(org: OrgDirectory, jid: str) -> str:
    """``/province/…/jid/`` from the org directory; just ``/jid/`` for a place it does not know."""
    cache = _paths.get(org)
    if cache is None:
        cache = _paths[org] = {}
    found = cache.get(jid)
    if found is None:
        try:
            ids = [j.id for j in reversed(org.chain(jid))]
        except KeyError:
            ids = [jid]
        found = cache[jid] = "/" + "/".join(ids) + "/"
    return found


_paths: weakref.WeakKeyDictionary[OrgDirectory, dict[str, str]] = weakref.WeakKeyDictionary()


def actor_jurisdiction(org: OrgDirectory, actor: Actor) -> str | None:
    """The jurisdiction of the actor's unit (None if the unit is unknown)."""
    unit = org.units.get(actor.unit_id)
    return unit.jurisdiction_id if unit is not None else None


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def visible_filter(org: OrgDirectory, actor: Actor) -> ColumnElement[bool]:
    """A where-clause on ``Incident`` selecting what ``actor`` may see."""
    if actor.role in ALL_ROLES:
        return true()
    if actor.role == "unit":
        quoted = _like_escape(f'"{actor.unit_id}"')
        return or_(
            Incident.unit_id == actor.unit_id,
            Incident.lead_unit_id == actor.unit_id,
            Incident.pending_transfer_to == actor.unit_id,
            # JSON list of ids as text on both SQLite and PostgreSQL: match the quoted id.
            cast(Incident.co_unit_ids, String).like(f"%{quoted}%", escape="\\"),
        )
    if actor.role in SCOPED_ROLES:
        jid = actor_jurisdiction(org, actor)
        if jid is None:
            return false()
        return Incident.jurisdiction_path.like(f"%/{_like_escape(jid)}/%", escape="\\")
    return false()


def can_see(org: OrgDirectory, actor: Actor, incident: Any) -> bool:
    """The same rule as ``visible_filter`` for one loaded incident (a row or any object alike)."""
    if actor.role in ALL_ROLES:
        return True
    if actor.role == "unit":
        return actor.unit_id in (
            incident.unit_id, getattr(incident, "lead_unit_id", None), getattr(incident, "pending_transfer_to", None),
            *(getattr(incident, "co_unit_ids", None) or []),
        )
    if actor.role in SCOPED_ROLES:
        jid = actor_jurisdiction(org, actor)
        if jid is None:
            return False
        path = getattr(incident, "jurisdiction_path", None) or jurisdiction_path(org, incident.jurisdiction_id)
        return f"/{jid}/" in path
    return False
