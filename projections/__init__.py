"""ClickHouse projections of the published events: raw events, timeline intervals, call summaries.

Adapters only: the consumer speaks `domain.published.PublishedEvent`, the reader answers
`recaudit.core.readmodel.TimelineReader`; ClickHouse is reached through clickhouse-connect, with the
embedded engine (`chdb://`) by default and a server (`http://`) on request.
"""
