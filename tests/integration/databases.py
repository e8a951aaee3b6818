"""Redis URLs for a database of a test's own on the session's Redis server."""

from __future__ import annotations


def other_db(url: str, db: int) -> str:
    """``url`` with database ``db`` instead (Unix sockets spell it ``?db=``)."""
    if url.startswith("unix://"):
        return url.split("?", 1)[0] + f"?db={db}"
    return url.rsplit("/", 1)[0] + f"/{db}"
