"""Kafka adapters: the Avro codec of published events, the outbox relay and the Kafka feed."""
