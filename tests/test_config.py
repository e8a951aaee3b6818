"""Settings and the Celery configuration built from them."""

from __future__ import annotations

import pytest

from config.celery_app import celery_config
from config.settings import ConfigError, Settings


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.redis_url is None
    assert settings.core.max_input_bytes == 1024 * 1024
    assert settings.site_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SYNDICATE_MAX_INPUT_BYTES", "lots", "must be an integer"),
        ("SYNDICATE_MAX_INPUT_BYTES", "0", "at least 1"),
        ("SYNDICATE_LOG_FORMAT", "xml", "one of text, json"),
        ("SYNDICATE_TASK_TIME_LIMIT", "500", "below SYNDICATE_VISIBILITY_TIMEOUT"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_reliability_settings() -> None:
    config = celery_config(Settings.from_env({}))
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_connection_retry_on_startup"] is True
    assert config["worker_send_task_events"] is True
    assert config["task_send_sent_event"] is True
    assert config["accept_content"] == ["json"]
    transport = config["broker_transport_options"]
    assert isinstance(transport, dict)
    time_limit = config["task_time_limit"]
    assert isinstance(time_limit, int)
    assert transport["visibility_timeout"] > time_limit
    # A SIGKILLed worker's task is redelivered once its visibility deadline passes and
    # the next sweep runs: that must fit in the two-minute promise with room to run it.
    assert transport["visibility_timeout"] + transport["unacked_restore_interval"] <= 100
    assert transport["unacked_restore_throttle"] == 1


def test_embedded_and_remote_urls() -> None:
    embedded = celery_config(Settings.from_env({"SYNDICATE_DATA_DIR": "/srv/syn"}))
    assert embedded["broker_url"] == "redis+socket:///srv/syn/redis.sock"
    remote = celery_config(Settings.from_env({"REDIS_URL": "rediss://cache.example:6380/2"}))
    assert remote["broker_url"] == "rediss://cache.example:6380/2"
    socket = celery_config(Settings.from_env({"REDIS_URL": "unix:///run/redis.sock?db=3"}))
    assert socket["broker_url"] == "redis+socket:///run/redis.sock?virtual_host=3"
