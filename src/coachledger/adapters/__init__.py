"""The storage layer: event store recorders, codec, seals, keys and files for SQLite and PostgreSQL."""
