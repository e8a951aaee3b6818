"""PostgreSQL, the system of record.

- :mod:`worker.database.embedded`: the embedded server used when ``DATABASE_URL`` is unset;
- :mod:`worker.database.connect`: where the database is, and a pool per process;
- :mod:`worker.database.migrate` and ``migrations/*.sql``: the schema and its runner.

The queries live with what they serve: :mod:`worker.store` (submissions, articles,
events, feed membership) and :mod:`feeds.feed_store` (feed rendering state and
documents).
"""
