"""Adapters of recaudit's own ports: the event store's stream indexes, the local event
feed, Kafka (Avro codec, relay, feed) and the integrity chain. The consumers, the segment
store and the ClickHouse projections are adapters too, in their own top-level packages."""
