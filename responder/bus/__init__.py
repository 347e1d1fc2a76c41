"""A thin message bus: publish, and consume with an explicit commit after the side effect.

Two adapters share the interface: ``embedded`` (a durable log in SQLite, for one machine) and
``kafka`` (Apache Kafka via kafka-python). Stages never know which one they talk to.
"""

from huiyin.responder.bus.base import Bus, Consumer, Message, open_bus

__all__ = ["Bus", "Consumer", "Message", "open_bus"]
