"""The key that signs portal links, operator sessions and CSRF tokens.

``SYNDICATE_PORTAL_KEY`` when set (hosts behind one address share it); otherwise a
random key in ``$SYNDICATE_DATA_DIR/portal-signing.key``, made on first use, readable
by its owner only. It is read on every use, so ``syndicate portal rotate-key`` (a new
file) revokes every link and session at once, without a restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config.settings import Settings

KEY_FILE = "portal-signing.key"


class KeyRotationError(Exception):
    """The key is set in the environment, so it cannot be rotated from here."""


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def signing_key(settings: Settings) -> bytes:
    """The current key (made now if there is none)."""
    if settings.portal_key:
        return settings.portal_key.encode()
    path = key_path(settings)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return _write_new(path, exclusive=True)


def rotate_key(settings: Settings) -> Path:
    """A new key file: every link and session signed with the old key stops working."""
    if settings.portal_key:
        raise KeyRotationError(
            "the key is SYNDICATE_PORTAL_KEY; change that variable (on every host) to rotate it"
        )
    path = key_path(settings)
    _write_new(path, exclusive=False)
    return path


def _write_new(path: Path, *, exclusive: bool) -> bytes:
    key = secrets.token_hex(32).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    try:
        if not exclusive:
            temporary.replace(path)  # atomic: a reader sees the old key or the new one
            return key
        try:
            os.link(temporary, path)  # atomic, and fails if another process made one first
        except FileExistsError:
            return path.read_bytes().strip()
        return key
    finally:
        temporary.unlink(missing_ok=True)
