"""Evidence bundles: one call's stored events, chain links, timeline, recordings and access
log in a zip, with a manifest of every file and the chain heads signed by the server's
Ed25519 key, so that a third party can check the call without the store.

- `layout`: the bundle's file names, its manifest and the README written into it.
- `rows`: stored events as bundle rows, and their chain recomputed from them.
- `build`: writing a bundle from the store (`recaudit export`, `GET /calls/{id}/evidence`).
- `check`: checking a bundle offline (`recaudit verify-bundle`).
"""
