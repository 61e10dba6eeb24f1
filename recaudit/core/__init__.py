"""The application core: the command service, the group committer, the event store, the
store's health and the read-model ports and views. It builds on `domain/` and imports
nothing of HTTP, Kafka, Avro, ClickHouse or the segment store."""
