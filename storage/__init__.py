"""Storage: every table, query and migration of paperbot (SQLite or PostgreSQL)."""
