"""The pure core: parse, normalize, summarize. No Celery, Redis, HTTP or clock in here."""
