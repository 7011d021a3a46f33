"""The journal: SQLite (WAL), its schema, group commit, the reads by time, the audit of a database."""
