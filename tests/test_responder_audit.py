"""The audit trail's hash chain on SQLite and PostgreSQL: appends, concurrency, tamper detection, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from huiyin.responder import audit
from huiyin.responder.audit import GENESIS, AuditEntry
from huiyin.responder.store import Database, open_database
from huiyin.responder.store.tables import AuditRecord

T = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)


def _fill(db: Database, n: int) -> None:
    with db.transaction() as s:
        audit.append(s, [AuditEntry(f"user{i}", "assessed", "incident", f"INC-{i}", T + timedelta(seconds=i),
                                    f"理由{i}", {"severity": "重大", "n": i, "units": ["a", "b"]}) for i in range(n)])


def _drop_triggers(db: Database) -> None:
    """What an attacker with database access would do first."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def _verify(db: Database) -> audit.VerifyResult:
    with db.session() as s:
        return audit.verify(s, batch=4)  # small pages: the walk crosses page boundaries


def test_chain_links_every_record(database_url: str) -> None:
    db = open_database(database_url)
    assert _verify(db) == audit.VerifyResult(True, 0, GENESIS)
    _fill(db, 5)
    _fill(db, 5)
    result = _verify(db)
    assert result.ok and result.records == 10
    with db.session() as s:
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    assert result.head == rows[-1].hash
    assert rows[3].payload == {"severity": "重大", "n": 3, "units": ["a", "b"]}
    db.dispose()


def test_edited_record_is_detected(database_url: str) -> None:
    db = open_database(database_url)
    _fill(db, 10)
    _drop_triggers(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET reason = '无' WHERE seq = 6"))
    result = _verify(db)
    assert not result.ok and result.broken_seq == 6 and "哈希不符" in (result.problem or "")
    assert result.records == 5
    db.dispose()


def test_edited_and_rehashed_record_breaks_the_next_link(database_url: str) -> None:
    db = open_database(database_url)
    _fill(db, 10)
    _drop_triggers(db)
    with db.session() as s:
        r = s.scalars(select(AuditRecord).where(AuditRecord.seq == 4)).one()
        forged = audit.record_hash(at=r.at, actor="mallory", action=r.action, entity=r.entity, entity_id=r.entity_id,
                                   reason=r.reason, payload=r.payload, prev_hash=r.prev_hash)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 4"), {"h": forged})
    result = _verify(db)
    assert not result.ok and result.broken_seq == 5 and "prev_hash" in (result.problem or "")
    db.dispose()


def test_deleted_record_is_detected(database_url: str) -> None:
    db = open_database(database_url)
    _fill(db, 10)
    _drop_triggers(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    result = _verify(db)
    assert not result.ok and result.broken_seq == 4
    db.dispose()


def test_triggers_still_refuse_edits_through_the_application(database_url: str) -> None:
    db = open_database(database_url)
    _fill(db, 2)
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET reason = 'x'"))
    assert _verify(db).ok
    db.dispose()


def test_concurrent_writers_keep_one_chain(database_url: str) -> None:
    db = open_database(database_url)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(15):
                with db.transaction() as s:
                    # Other work first, as in a real command, then the audit records.
                    s.execute(select(AuditRecord.seq).limit(1)).all()
                    audit.append(s, [AuditEntry(f"w{k}", "x", "incident", f"{k}-{i}", datetime.now(UTC), None, {}),
                                     AuditEntry(f"w{k}", "y", "incident", f"{k}-{i}", datetime.now(UTC), None, {})])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(db)
    assert result.ok and result.records == 4 * 15 * 2
    db.dispose()


def _huiyin(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env["HUIYIN_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "huiyin.api.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_audit_verify_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    db = open_database(url)
    _fill(db, 3)
    out = _huiyin("audit", "verify", url=url)
    assert out.returncode == 0, out.stderr
    assert "审计链完好" in out.stdout and "3 条记录" in out.stdout
    _drop_triggers(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET entity_id = 'INC-other' WHERE seq = 2"))
    out = _huiyin("audit", "verify", url=url)
    assert out.returncode == 1
    assert "seq 2" in out.stderr and "审计链断裂" in out.stderr
    db.dispose()
