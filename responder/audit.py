"""The audit trail: append-only records chained by SHA-256, and the check that walks the chain.

Each record's ``hash`` is ``sha256(canonical JSON of (at, actor, action, entity, entity_id, reason,
payload, prev_hash))``; ``prev_hash`` is the previous record's hash ("0"*64 for the first). The
database triggers refuse UPDATE and DELETE; the chain catches whoever bypasses them (drops the
triggers, edits the file): a changed, removed or inserted record breaks a link. Deleting the newest
records leaves a shorter valid chain, so ``verify`` reports the head hash for an operator to note.

Appends are serialised so two writers never chain onto the same record: on PostgreSQL a
transaction-scoped advisory lock; on SQLite the database write lock, taken by a write before the
head is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from huiyin.responder.bulk import insert_rows
from huiyin.responder.store.tables import AuditRecord

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x6875_6979_696E  # "huiyin": one advisory lock for the whole chain
_LOCKED = "_huiyin_audit_locked"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What to record: who did what to which entity, when and why."""

    actor: str
    action: str
    entity: str
    entity_id: str
    at: datetime
    reason: str | None = None
    payload: Mapping[str, Any] | None = None


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime in an audit record")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def record_hash(
    *, at: datetime, actor: str, action: str, entity: str, entity_id: str, reason: str | None,
    payload: Mapping[str, Any], prev_hash: str,
) -> str:
    """The hash of one record given its predecessor's hash."""
    body = {
        "at": _iso(at), "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
        "reason": reason, "payload": payload, "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialise appends until this transaction ends (once per transaction)."""
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCKED) is transaction:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    else:
        # A write statement makes pysqlite BEGIN and SQLite take the write lock (waiting
        # busy_timeout for it); reads after it see the latest committed chain head.
        session.execute(
            text("DELETE FROM processed_messages WHERE consumer = :c"), {"c": "__audit_lock__"}
        )
    session.info[_LOCKED] = session.get_transaction()


def _head(session: Session) -> str:
    last = session.execute(select(AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).scalar()
    return last or GENESIS


def append(session: Session, entries: Iterable[AuditEntry]) -> list[str]:
    """Append records in order inside the caller's transaction; returns their hashes.

    Call it late in a transaction: the chain stays locked until the transaction ends.
    """
    items = list(entries)
    if not items:
        return []
    # Flush first: every row lock this transaction needs is taken before the chain lock, and
    # after it only audit rows are inserted, so chain waits never form a deadlock cycle.
    session.flush()
    _lock_chain(session)
    prev = _head(session)
    rows: list[dict[str, Any]] = []
    for e in items:
        payload = json.loads(canonical(dict(e.payload or {})))  # exactly what the database will return
        at = e.at.astimezone(UTC)
        digest = record_hash(
            at=at, actor=e.actor, action=e.action, entity=e.entity, entity_id=e.entity_id,
            reason=e.reason, payload=payload, prev_hash=prev,
        )
        rows.append(dict(at=at, actor=e.actor, action=e.action, entity=e.entity, entity_id=e.entity_id,
                         reason=e.reason, payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    insert_rows(session, AuditRecord.__table__, rows)
    return [r["hash"] for r in rows]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of walking the chain."""

    ok: bool
    records: int
    head: str
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the chain in ``seq`` order and report the first broken link."""
    prev = GENESIS
    count = 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditRecord).where(AuditRecord.seq > last_seq).order_by(AuditRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return VerifyResult(True, count, prev)
        for r in rows:
            if r.prev_hash != prev:
                return VerifyResult(
                    False, count, prev, r.seq,
                    f"第 {r.seq} 条记录的 prev_hash 与前一条不符（前一条被删除、插入或改动）"
                    f" prev_hash does not match the previous record",
                )
            expected = record_hash(
                at=r.at, actor=r.actor, action=r.action, entity=r.entity, entity_id=r.entity_id,
                reason=r.reason, payload=r.payload, prev_hash=r.prev_hash,
            )
            if expected != r.hash:
                return VerifyResult(
                    False, count, prev, r.seq,
                    f"第 {r.seq} 条记录的内容与其哈希不符（记录被改动） record content does not match its hash",
                )
            prev = r.hash
            count += 1
            last_seq = r.seq
        session.expunge_all()
