"""recaudit's domain: recording rules, the call and policy aggregates, timelines.

This package knows nothing of HTTP, Kafka, Avro or ClickHouse.
"""
