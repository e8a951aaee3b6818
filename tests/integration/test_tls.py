"""REDIS_URL=rediss://...: the store and a real worker over TLS."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.integration.conftest import ROOT, free_port, ingest_one_through, wait_until
from tests.postgres import ScratchDatabases
from worker.embedded_redis import find_redis_server
from worker.submit import Submitter


@pytest.fixture
def tls_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [find_redis_server(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
         "--tls-auth-clients", "no", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={cert}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ingest_over_tls(tls_url: str, tmp_path: Path, databases: ScratchDatabases) -> None:
    env = {**os.environ, "REDIS_URL": tls_url, "SYNDICATE_DATA_DIR": str(tmp_path),
           "DATABASE_URL": databases.create("tls"), "PYTHONPATH": str(ROOT)}  # fmt: skip
    submitter = Submitter.from_settings(Settings.from_env(env))
    wait_until(lambda: _reachable(submitter), timeout=20)
    ingest_one_through(env, submitter, f"Sealed Letters {uuid.uuid4().hex[:6]}")


def _reachable(submitter: Submitter) -> bool:
    try:
        return bool(submitter.store.client.ping())
    except Exception:  # not up yet: connection or TLS handshake refused
        return False
