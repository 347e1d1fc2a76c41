"""``python -m tests.responder_proc``: the responder process as ``huiyin respond`` runs it, but with a
short Kafka session timeout, so a member started after a SIGKILL gets the partitions within seconds
instead of the production default of 45 s. Settings come from the HUIYIN_ environment."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from huiyin.config.settings import load_settings
from huiyin.responder.bus.base import open_bus
from huiyin.responder.service import run_responder

SESSION_S = 6.0  # the broker's group.min.session.timeout.ms


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if settings.bus == "kafka":
        from huiyin.responder.bus.kafka import KafkaBus

        bus = KafkaBus(settings, session_timeout_s=SESSION_S)
    else:
        bus = open_bus(settings)
    try:
        run_responder(settings, stop=stop, bus=bus)
    finally:
        bus.close()


if __name__ == "__main__":
    main()
