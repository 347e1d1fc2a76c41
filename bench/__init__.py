"""Benchmark helpers and the local servers (PostgreSQL, Kafka) that tests and benchmarks start."""
