"""The live stream over a real server: an incident stored by the real responder stage reaches the
clients who may see it within seconds, and nobody else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import Stack, api_settings, api_stack, routed_post

USERS = {
    "pub_city": ("publicity", "130100.publicity"),
    "unit_a": ("unit", "130123.education"),
    "unit_b": ("unit", "130202.housing_construction"),
}


class Listener:
    """Reads a user's event stream in a thread, keeping every event it parses."""

    def __init__(self, stack: Stack, username: str) -> None:
        self.client = stack.client(username)
        self.events: list[tuple[str, dict]] = []
        self.ready = threading.Event()
        self.status: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self.client.stream("GET", "/api/stream", timeout=httpx.Timeout(30, read=None)) as r:
                self.status = r.status_code
                name = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name:
                        self.events.append((name, json.loads(line[6:])))
                        if name == "ready":
                            self.ready.set()
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test
        finally:
            self.ready.set()

    def wait_for(self, predicate, timeout_s: float = 10.0) -> dict | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, event in list(self.events):
                if name == "incident" and predicate(event):
                    return event
            time.sleep(0.05)
        return None

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with api_stack(api_settings(tmp_path), users=USERS) as s:
        yield s


def test_new_alerts_reach_exactly_the_users_who_may_see_them(stack: Stack) -> None:
    listeners = {name: Listener(stack, name) for name in USERS}
    try:
        for name, listener in listeners.items():
            assert listener.ready.wait(10) and listener.status == 200, name
        started = time.monotonic()
        (x,) = stack.store(routed_post(title="正定县学校食堂问题", text="家长反映", unit_id="130123.education",
                                       jurisdiction_id="130123"))
        created = listeners["pub_city"].wait_for(lambda e: e["incident_id"] == x and e["type"] == "created")
        assert created is not None, listeners["pub_city"].events
        assert created["stage"] == "收集" and created["jurisdiction_id"] == "130123"
        print(f"alert reached the publicity office's stream {time.monotonic() - started:.2f}s after publishing")
        assert listeners["unit_a"].wait_for(lambda e: e["incident_id"] == x) is not None

        # A change made through the API is streamed too; the other city's unit hears nothing of it.
        with stack.client("pub_city") as pub:
            assert pub.post(f"/api/incidents/{x}/assess", json={"reason": "确认"}).status_code == 200
        assert listeners["unit_a"].wait_for(lambda e: e["incident_id"] == x and e["type"] == "assessed") is not None
        time.sleep(0.5)
        assert [e for n, e in listeners["unit_b"].events if n == "incident"] == []
    finally:
        for listener in listeners.values():
            listener.close()


def test_stream_needs_a_login(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as anonymous:
        r = anonymous.get("/api/stream")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_history_is_not_replayed_to_a_new_client(stack: Stack) -> None:
    (old,) = stack.store(routed_post(title="旧事项", text="旧", unit_id="130123.education", jurisdiction_id="130123"))
    listener = Listener(stack, "pub_city")
    try:
        assert listener.ready.wait(10)
        time.sleep(0.5)
        assert listener.wait_for(lambda e: e["incident_id"] == old, timeout_s=0.5) is None
    finally:
        listener.close()
