"""Tamper evidence: hash chains over the stored events and the finished recordings.

- `chain`: what is hashed and how links follow each other.
- `sealing`, `sealer`: extending the chains (a thread in `recaudit serve`, or
  `recaudit seal` once), in tables next to the events (`database`, with one
  adapter each for SQLite and PostgreSQL).
- `verify`: recomputing everything from the raw rows and files and reporting
  edited, deleted, inserted and reordered events, broken or rewritten chains,
  and altered or missing audio and manifests (`eventcheck`, `linkcheck`,
  `audiocheck`).
- `head`: the chain head, exported to be kept outside the database.
- `deleted`: recordings deleted with a record, reported as such rather than as findings.
- `signing`, `bundle`: the server's Ed25519 key, and evidence bundles of one call
  (built from the store, checked offline).
"""
