"""SQL storage: all SQL lives here. SQLite by default, PostgreSQL for larger sites."""
