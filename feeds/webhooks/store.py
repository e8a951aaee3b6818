"""Webhook endpoints, messages, the retry schedule and the attempt log, in Redis.

A message is one event for one endpoint. Its life:

    scheduled --promote--> queued --attempt--> delivered
        ^                    |  \\------------> dead      (schedule exhausted)
        |-------retry--------'   \\-----------> held      (endpoint disabled)
    replay / recover / enable <---------------- dead, held, delivered

* The schedule is the ``wh:due`` sorted set (message id -> due time), mirrored per
  endpoint. Promotion is one Lua script: it takes due messages whose endpoint has a
  free in-flight slot, pushes their due time one lease ahead (so a message whose task
  is lost comes due again by itself) and gives each a new *token*. The deliver task
  carries the token; an attempt is claimed and finished only with the current token,
  so a message is sent once per promotion however many workers, beats or duplicate
  task messages there are.
* The per-endpoint cap is the ``wh:inflight:{ep}`` sorted set (message -> lease end),
  checked and taken inside the promotion script, so it holds across processes and
  hosts.
* Every attempt is appended to ``wh:attempts:{mid}``; messages and their attempts are
  trimmed after the retention period.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import redis

from worker.keys import Keys
from worker.store import as_text

MessageStatus = Literal["scheduled", "queued", "delivered", "dead", "held"]
FinishKind = Literal["delivered", "retry", "dead", "disable", "hold"]
PENDING_STATUSES = ("scheduled", "queued")
RESPONSE_KEEP_BYTES = 2048


def as_text_fields(data: Mapping[Any, Any]) -> dict[str, str]:
    """A Redis hash reply as text (keys and values decoded as UTF-8)."""
    return {as_text(key): as_text(value) for key, value in data.items()}


@dataclass(frozen=True, slots=True)
class Secret:
    """A signing secret; ``expires`` is set on a secret replaced by rotation."""

    value: str
    expires: float | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A subscribed webhook endpoint."""

    id: str
    url: str
    events: tuple[str, ...]
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    max_in_flight: int = 1
    failing_since: float | None = None
    last_success_at: float | None = None
    last_failure_at: float | None = None
    secrets: tuple[Secret, ...] = ()

    def live_secrets(self, now: float) -> list[str]:
        """The secrets that sign a message sent at ``now`` (newest first)."""
        return [s.value for s in self.secrets if s.expires is None or s.expires > now]

    def public(self, now: float) -> dict[str, Any]:
        """The endpoint as shown to clients: everything but the secrets."""
        previous = [s.expires for s in self.secrets if s.expires is not None and s.expires > now]
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "authors": list(self.authors),
            "tags": list(self.tags),
            "description": self.description,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "disabled_at": self.disabled_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "max_in_flight": self.max_in_flight,
            "failing_since": self.failing_since,
            "last_success_at": self.last_success_at,
            "last_failure_at": self.last_failure_at,
            "previous_secret_expires": max(previous) if previous else None,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one endpoint, with its delivery state."""

    id: str
    endpoint: str
    type: str
    created_at: float
    body: bytes
    status: str
    article_id: str = ""
    version: int = 0
    attempts: int = 0
    round_attempts: int = 0
    token: int = 0
    next_due: float | None = None
    delivered_at: float | None = None
    dead_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    attempt_log: list[dict[str, Any]] = field(default_factory=list)

    def public(self, *, with_body: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "endpoint": self.endpoint,
            "type": self.type,
            "article_id": self.article_id or None,
            "version": self.version or None,
            "status": self.status,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "next_due": self.next_due if self.status in PENDING_STATUSES else None,
            "delivered_at": self.delivered_at,
            "dead_at": self.dead_at,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }
        if with_body:
            shown["payload"] = json.loads(self.body)
            shown["attempt_log"] = self.attempt_log
        return shown


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to create."""

    id: str
    endpoint: str
    type: str
    body: bytes
    article_id: str = ""
    version: int = 0


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


def new_message_id() -> str:
    return "msg_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def event_message_id(endpoint_id: str, event_type: str, article_id: str, version: int) -> str:
    """The id of the message for one article version and endpoint: the same every time,
    so dispatching an event twice creates one message."""
    digest = hashlib.sha256(f"{endpoint_id}\n{event_type}\n{article_id}\n{version}".encode())
    return "msg_" + base64.b32encode(digest.digest()[:15]).decode().lower()


# KEYS: msg, msgs, endpoint msgs, due, endpoint due, held.
# ARGV: id, endpoint, type, article id, version, created, body, status, due.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'endpoint', ARGV[2], 'type', ARGV[3],
  'article_id', ARGV[4], 'version', ARGV[5], 'created_at', ARGV[6], 'body', ARGV[7],
  'status', ARGV[8], 'attempts', 0, 'round_attempts', 0, 'token', 0, 'next_due', ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
if ARGV[8] == 'scheduled' then
  redis.call('ZADD', KEYS[4], ARGV[9], ARGV[1])
  redis.call('ZADD', KEYS[5], ARGV[9], ARGV[1])
else
  redis.call('ZADD', KEYS[6], ARGV[6], ARGV[1])
end
return 1
"""

# KEYS: the due set to scan (global or one endpoint's).
# ARGV: now, lease, limit, scan, default cap, key prefix.
_PROMOTE = """
local now = tonumber(ARGV[1])
local lease_end = now + tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local p = ARGV[6]
local promoted = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, mid in ipairs(ids) do
  local mkey = p .. 'msg:' .. mid
  local ep = redis.call('HGET', mkey, 'endpoint')
  if not ep then
    redis.call('ZREM', KEYS[1], mid)
    redis.call('ZREM', p .. 'due', mid)
  else
    local epkey = p .. 'endpoint:' .. ep
    if redis.call('HGET', epkey, 'enabled') ~= '1' then
      redis.call('HSET', mkey, 'status', 'held')
      redis.call('ZREM', p .. 'due', mid)
      redis.call('ZREM', p .. 'due:' .. ep, mid)
      redis.call('ZADD', p .. 'held:' .. ep, now, mid)
    else
      local inflight = p .. 'inflight:' .. ep
      redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
      local cap = tonumber(redis.call('HGET', epkey, 'max_in_flight') or ARGV[5])
      if redis.call('ZSCORE', inflight, mid) or redis.call('ZCARD', inflight) < cap then
        redis.call('ZADD', inflight, lease_end, mid)
        redis.call('ZADD', p .. 'due', lease_end, mid)
        redis.call('ZADD', p .. 'due:' .. ep, lease_end, mid)
        local token = redis.call('HINCRBY', mkey, 'token', 1)
        redis.call('HSET', mkey, 'status', 'queued')
        promoted[#promoted + 1] = mid
        promoted[#promoted + 1] = token
        if #promoted >= 2 * limit then break end
      end
    end
  end
end
return promoted
"""

# KEYS: msg. ARGV: token, now, guard.
# A promoted attempt is claimed once; a claim older than the guard (longer than any
# attempt can last) belongs to a worker that died, and may be taken over.
_CLAIM = """
local m = redis.call('HMGET', KEYS[1], 'token', 'status', 'claimed', 'claimed_at')
if m[1] ~= ARGV[1] or m[2] ~= 'queued' then return 0 end
if m[3] == ARGV[1] and tonumber(ARGV[2]) - tonumber(m[4]) < tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'claimed', ARGV[1], 'claimed_at', ARGV[2])
return 1
"""

# KEYS: msg, attempts, endpoint, stats.
# ARGV: token, kind, next due, attempt JSON (empty: no attempt made), now, message id,
#       reason, status code, key prefix, endpoint id.
_FINISH = """
local p = ARGV[9]
local mid = ARGV[6]
local ep = ARGV[10]
local now = ARGV[5]
local kind = ARGV[2]
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
redis.call('HINCRBY', KEYS[1], 'token', 1)
redis.call('ZREM', p .. 'inflight:' .. ep, mid)
local endpoint_exists = redis.call('EXISTS', KEYS[3]) == 1
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[4])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  redis.call('HINCRBY', KEYS[1], 'round_attempts', 1)
  redis.call('HSET', KEYS[1], 'last_status', ARGV[8], 'last_error', ARGV[7],
    'last_attempt_at', now)
  if kind == 'delivered' then
    redis.call('HINCRBY', KEYS[4], 'attempts_delivered', 1)
  else
    redis.call('HINCRBY', KEYS[4], 'attempts_failed', 1)
    if endpoint_exists then
      redis.call('HSETNX', KEYS[3], 'failing_since', now)
      redis.call('HSET', KEYS[3], 'last_failure_at', now)
    end
  end
end
if kind == 'retry' then
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'next_due', ARGV[3])
  redis.call('ZADD', p .. 'due', ARGV[3], mid)
  redis.call('ZADD', p .. 'due:' .. ep, ARGV[3], mid)
  return 1
end
redis.call('ZREM', p .. 'due', mid)
redis.call('ZREM', p .. 'due:' .. ep, mid)
if kind == 'delivered' then
  redis.call('HSET', KEYS[1], 'status', 'delivered', 'delivered_at', now)
  if endpoint_exists then
    redis.call('HSET', KEYS[3], 'last_success_at', now)
    redis.call('HDEL', KEYS[3], 'failing_since')
  end
elseif kind == 'dead' then
  redis.call('HSET', KEYS[1], 'status', 'dead', 'dead_at', now)
  redis.call('ZADD', p .. 'dead', now, mid)
  redis.call('ZADD', p .. 'dead:' .. ep, now, mid)
  redis.call('HINCRBY', KEYS[4], 'dead_letters', 1)
else
  redis.call('HSET', KEYS[1], 'status', 'held')
  redis.call('ZADD', p .. 'held:' .. ep, now, mid)
  if kind == 'disable' and endpoint_exists and redis.call('HGET', KEYS[3], 'enabled') == '1' then
    redis.call('HSET', KEYS[3], 'enabled', '0', 'disabled_reason', ARGV[7], 'disabled_at', now)
    redis.call('HINCRBY', KEYS[4], 'endpoints_disabled', 1)
    return 2
  end
end
return 1
"""

# KEYS: msg. ARGV: message id, now, key prefix, force (1/0).
# Returns -1 for an unknown message, 0 if it is already pending, 2 if it was delivered
# and force is not set, 1 when rescheduled. Only a failed message is replayed without
# force, so a second replay of the same dead letter (e.g. from another API replica at
# the same moment) finds it pending or delivered and sends nothing more.
_REPLAY = """
local p = ARGV[3]
local m = redis.call('HMGET', KEYS[1], 'status', 'endpoint')
if not m[1] then return -1 end
if m[1] == 'scheduled' or m[1] == 'queued' then return 0 end
if m[1] == 'delivered' and ARGV[4] ~= '1' then return 2 end
local ep = m[2]
redis.call('HSET', KEYS[1], 'status', 'scheduled', 'round_attempts', 0, 'next_due', ARGV[2])
redis.call('ZADD', p .. 'due', ARGV[2], ARGV[1])
redis.call('ZADD', p .. 'due:' .. ep, ARGV[2], ARGV[1])
redis.call('ZREM', p .. 'dead', ARGV[1])
redis.call('ZREM', p .. 'dead:' .. ep, ARGV[1])
redis.call('ZREM', p .. 'held:' .. ep, ARGV[1])
return 1
"""


class WebhookStore:
    """Endpoints and messages in Redis (keys in :mod:`worker.keys`)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.client = client
        self.keys = keys or Keys()
        self._create = client.register_script(_CREATE)
        self._promote = client.register_script(_PROMOTE)
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._replay = client.register_script(_REPLAY)

    # Endpoints

    def save_endpoint(self, endpoint: Endpoint) -> None:
        """Create or replace an endpoint (its delivery state included)."""
        fields: dict[Any, Any] = {
            "id": endpoint.id,
            "url": endpoint.url,
            "events": json.dumps(list(endpoint.events)),
            "authors": json.dumps(list(endpoint.authors), ensure_ascii=False),
            "tags": json.dumps(list(endpoint.tags), ensure_ascii=False),
            "description": endpoint.description,
            "enabled": "1" if endpoint.enabled else "0",
            "created_at": repr(endpoint.created_at),
            "updated_at": repr(endpoint.updated_at),
            "max_in_flight": endpoint.max_in_flight,
            "secrets": json.dumps([[s.value, s.expires] for s in endpoint.secrets]),
        }
        optional = {
            "disabled_reason": endpoint.disabled_reason,
            "disabled_at": endpoint.disabled_at,
            "failing_since": endpoint.failing_since,
        }
        key = self.keys.endpoint(endpoint.id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            for name, value in optional.items():
                if value is None:
                    pipe.hdel(key, name)
                else:
                    pipe.hset(key, name, value if isinstance(value, str) else repr(value))
            pipe.zadd(self.keys.endpoints, {endpoint.id: endpoint.created_at}, nx=True)
            pipe.execute()

    def update_endpoint(self, endpoint_id: str, changes: dict[str, Any]) -> None:
        """Write some fields of an endpoint, leaving its delivery state alone."""
        fields: dict[Any, Any] = {}
        for name, value in changes.items():
            if isinstance(value, tuple):
                fields[name] = json.dumps(list(value), ensure_ascii=False)
            elif isinstance(value, float):
                fields[name] = repr(value)
            else:
                fields[name] = value
        self.client.hset(self.keys.endpoint(endpoint_id), mapping=fields)

    def set_secrets(self, endpoint_id: str, secrets_: Sequence[Secret]) -> None:
        value = json.dumps([[s.value, s.expires] for s in secrets_])
        self.client.hset(self.keys.endpoint(endpoint_id), "secrets", value)

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        raw = self.client.hgetall(self.keys.endpoint(endpoint_id))
        return _endpoint(as_text_fields(raw)) if raw else None

    def endpoint_ids(self) -> list[str]:
        return [_text(item) for item in self.client.zrange(self.keys.endpoints, 0, -1)]

    def endpoints(self) -> list[Endpoint]:
        ids = self.endpoint_ids()
        with self.client.pipeline(transaction=False) as pipe:
            for endpoint_id in ids:
                pipe.hgetall(self.keys.endpoint(endpoint_id))
            replies = pipe.execute()
        return [_endpoint(as_text_fields(raw)) for raw in replies if raw]

    def has_endpoints(self) -> bool:
        return bool(self.client.exists(self.keys.endpoints))

    def delete_endpoint(self, endpoint_id: str) -> bool:
        """Remove an endpoint with its messages and their attempt log."""
        keys = self.keys
        message_ids = [
            _text(m) for m in self.client.zrange(keys.endpoint_messages(endpoint_id), 0, -1)
        ]
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.endpoint(endpoint_id))
            pipe.zrem(keys.endpoints, endpoint_id)
            for name in (keys.endpoint_messages, keys.endpoint_due, keys.inflight,
                         keys.endpoint_dead, keys.held):  # fmt: skip
                pipe.delete(name(endpoint_id))
            for chunk in _chunks(message_ids, 500):
                pipe.delete(*[keys.message(m) for m in chunk], *[keys.attempts(m) for m in chunk])
                pipe.zrem(keys.due, *chunk)
                pipe.zrem(keys.messages, *chunk)
                pipe.zrem(keys.dead, *chunk)
            removed = pipe.execute()[0]
        return bool(removed)

    def set_enabled(self, endpoint_id: str, enabled: bool, *, now: float, reason: str = "") -> int:
        """Enable or disable an endpoint; enabling reschedules the messages held meanwhile.

        Returns the number of held messages rescheduled."""
        key = self.keys.endpoint(endpoint_id)
        if not enabled:
            self.client.hset(
                key,
                mapping={"enabled": "0", "disabled_reason": reason, "disabled_at": repr(now)},
            )
            return 0
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "enabled", "1")
            pipe.hdel(key, "disabled_reason", "disabled_at", "failing_since")
            pipe.execute()
        held = [_text(m) for m in self.client.zrange(self.keys.held(endpoint_id), 0, -1)]
        return self._replay_in_order(held, now=now)

    # Messages

    def create_messages(self, messages: Iterable[NewMessage], *, now: float) -> int:
        """Create messages (idempotent per id); those of disabled endpoints are held."""
        batch = list(messages)
        if not batch:
            return 0
        enabled = {e.id: e.enabled for e in self.endpoints()}
        with self.client.pipeline(transaction=False) as pipe:
            for index, message in enumerate(batch):
                status = "scheduled" if enabled.get(message.endpoint) else "held"
                # Spaced by 10 µs so that first attempts follow the order of the events.
                at = repr(now + index * 1e-5)
                self._create(
                    keys=self._message_keys(message.id, message.endpoint),
                    args=[message.id, message.endpoint, message.type, message.article_id,
                          message.version, at, message.body, status, at],
                    client=pipe,
                )  # fmt: skip
            return sum(int(result) for result in pipe.execute())

    def _message_keys(self, message_id: str, endpoint_id: str) -> list[str]:
        keys = self.keys
        return [
            keys.message(message_id),
            keys.messages,
            keys.endpoint_messages(endpoint_id),
            keys.due,
            keys.endpoint_due(endpoint_id),
            keys.held(endpoint_id),
        ]

    def message(self, message_id: str, *, with_attempts: bool = False) -> Message | None:
        raw = self.client.hgetall(self.keys.message(message_id))
        if not raw:
            return None
        attempts: list[dict[str, Any]] = []
        if with_attempts:
            attempts = [
                json.loads(a) for a in self.client.lrange(self.keys.attempts(message_id), 0, -1)
            ]
        return _message(raw, attempts)

    def messages(
        self,
        *,
        endpoint_id: str | None = None,
        status: str | None = None,
        since: float | None = None,
        limit: int = 50,
    ) -> list[Message]:
        """Messages newest first, optionally of one endpoint, in one status, since a time."""
        if status == "dead":
            index = self.keys.endpoint_dead(endpoint_id) if endpoint_id else self.keys.dead
        elif endpoint_id:
            index = self.keys.endpoint_messages(endpoint_id)
        else:
            index = self.keys.messages
        low = "-inf" if since is None else repr(since)
        found: list[Message] = []
        offset = 0
        while len(found) < limit:
            ids = self.client.zrevrangebyscore(index, "+inf", low, start=offset, num=500)
            if not ids:
                break
            offset += len(ids)
            with self.client.pipeline(transaction=False) as pipe:
                for message_id in ids:
                    pipe.hgetall(self.keys.message(_text(message_id)))
                replies = pipe.execute()
            for raw in replies:
                if raw:
                    message = _message(raw, [])
                    if status is None or message.status == status:
                        found.append(message)
        return found[:limit]

    def promote(self, *, now: float, lease: float, default_cap: int, limit: int = 500,
                endpoint_id: str | None = None) -> list[tuple[str, int]]:  # fmt: skip
        """Claim due messages for sending: (message id, token) pairs to enqueue."""
        due = self.keys.endpoint_due(endpoint_id) if endpoint_id else self.keys.due
        reply = self._promote(
            keys=[due], args=[repr(now), lease, limit, limit * 10, default_cap, self.keys.wh_prefix]
        )
        return [(_text(reply[i]), int(reply[i + 1])) for i in range(0, len(reply), 2)]

    def claim(self, message_id: str, token: int, *, now: float, guard: float) -> bool:
        """Take the attempt of a promoted message: True for exactly one caller per token."""
        return bool(
            self._claim(keys=[self.keys.message(message_id)], args=[token, repr(now), guard])
        )

    def finish(
        self,
        message: Message,
        token: int,
        kind: FinishKind,
        *,
        now: float,
        attempt: dict[str, Any] | None,
        next_due: float = 0.0,
        reason: str = "",
        status: int | None = None,
    ) -> int:
        """Record an attempt's outcome. 0: stale token; 1: recorded; 2: endpoint disabled."""
        keys = self.keys
        return int(
            self._finish(
                keys=[
                    keys.message(message.id),
                    keys.attempts(message.id),
                    keys.endpoint(message.endpoint),
                    keys.delivery_stats,
                ],
                args=[
                    token,
                    kind,
                    repr(next_due),
                    json.dumps(attempt, ensure_ascii=False) if attempt else "",
                    repr(now),
                    message.id,
                    reason,
                    "" if status is None else status,
                    keys.wh_prefix,
                    message.endpoint,
                ],
            )
        )

    def replay(self, message_id: str, *, now: float, force: bool = False) -> int:
        """Schedule a failed message again now (a delivered one only with ``force``).

        -1 unknown, 0 already pending, 1 rescheduled, 2 delivered (and not forced)."""
        return int(
            self._replay(
                keys=[self.keys.message(message_id)],
                args=[message_id, repr(now), self.keys.wh_prefix, int(force)],
            )
        )

    def replay_dead(self, endpoint_id: str, *, now: float) -> int:
        """Reschedule every dead letter of an endpoint."""
        ids = [_text(m) for m in self.client.zrange(self.keys.endpoint_dead(endpoint_id), 0, -1)]
        return self._replay_in_order(ids, now=now)

    def recover(self, endpoint_id: str, *, since: float, now: float) -> int:
        """Reschedule every failed (dead or held) message of an endpoint created since a time."""
        ids = self.client.zrangebyscore(
            self.keys.endpoint_messages(endpoint_id), repr(since), "+inf"
        )
        with self.client.pipeline(transaction=False) as pipe:
            for message_id in ids:
                pipe.hget(self.keys.message(_text(message_id)), "status")
            statuses = pipe.execute()
        failed = [_text(m) for m, s in zip(ids, statuses, strict=True) if s in (b"dead", b"held")]
        return self._replay_in_order(failed, now=now)

    def _replay_in_order(self, message_ids: Sequence[str], *, now: float) -> int:
        """Replay messages so that their next attempts follow the order they were made in."""
        with self.client.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.hget(self.keys.message(message_id), "created_at")
            created = [float(value or 0) for value in pipe.execute()]
        ordered = [m for _, m in sorted(zip(created, message_ids, strict=True))]
        return sum(
            self.replay(message_id, now=now + index * 1e-5) == 1
            for index, message_id in enumerate(ordered)
        )

    def trim(self, *, older_than: float, batch: int = 500) -> int:
        """Delete finished messages (and their attempt log) created before a time."""
        removed = 0
        offset = 0
        while True:
            ids = self.client.zrangebyscore(
                self.keys.messages, "-inf", repr(older_than), start=offset, num=batch
            )
            if not ids:
                return removed
            with self.client.pipeline(transaction=False) as pipe:
                for message_id in ids:
                    pipe.hmget(self.keys.message(_text(message_id)), ["status", "endpoint"])
                states = pipe.execute()
            with self.client.pipeline(transaction=True) as pipe:
                for message_id, (status, endpoint) in zip(ids, states, strict=True):
                    if status in (b"scheduled", b"queued"):
                        offset += 1  # still being delivered: kept until it finishes
                        continue
                    self._forget(pipe, _text(message_id), _text(endpoint or b""))
                    removed += 1
                pipe.execute()

    def _forget(self, pipe: redis.client.Pipeline, message_id: str, endpoint_id: str) -> None:
        keys = self.keys
        pipe.delete(keys.message(message_id), keys.attempts(message_id))
        pipe.zrem(keys.messages, message_id)
        pipe.zrem(keys.dead, message_id)
        if endpoint_id:
            for index in (keys.endpoint_messages, keys.endpoint_dead, keys.held):
                pipe.zrem(index(endpoint_id), message_id)

    def stats(self) -> dict[str, int]:
        """Counters and current sizes of the delivery sets."""
        keys = self.keys
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.delivery_stats)
            pipe.zcard(keys.due)
            pipe.zcard(keys.dead)
            pipe.zcard(keys.messages)
            counters, due, dead, total = pipe.execute()
        shown = {_text(k): int(v) for k, v in counters.items()}
        return shown | {"scheduled": due, "dead": dead, "messages": total}


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _optional_float(value: str | None) -> float | None:
    return float(value) if value else None


def _endpoint(fields: dict[str, str]) -> Endpoint:
    return Endpoint(
        id=fields["id"],
        url=fields["url"],
        events=tuple(json.loads(fields.get("events", "[]"))),
        authors=tuple(json.loads(fields.get("authors", "[]"))),
        tags=tuple(json.loads(fields.get("tags", "[]"))),
        description=fields.get("description", ""),
        enabled=fields.get("enabled") == "1",
        disabled_reason=fields.get("disabled_reason") or None,
        disabled_at=_optional_float(fields.get("disabled_at")),
        created_at=float(fields.get("created_at", 0)),
        updated_at=float(fields.get("updated_at", 0)),
        max_in_flight=int(fields.get("max_in_flight", 1)),
        failing_since=_optional_float(fields.get("failing_since")),
        last_success_at=_optional_float(fields.get("last_success_at")),
        last_failure_at=_optional_float(fields.get("last_failure_at")),
        secrets=tuple(Secret(value, expires) for value, expires in json.loads(fields["secrets"])),
    )


def _message(raw: dict[Any, Any], attempts: list[dict[str, Any]]) -> Message:
    body = raw.get(b"body", b"{}")
    fields = {_text(k): _text(v) for k, v in raw.items() if k != b"body"}
    last_status = fields.get("last_status")
    return Message(
        id=fields["id"],
        endpoint=fields["endpoint"],
        type=fields["type"],
        created_at=float(fields["created_at"]),
        body=body,
        status=fields["status"],
        article_id=fields.get("article_id", ""),
        version=int(fields.get("version") or 0),
        attempts=int(fields.get("attempts", 0)),
        round_attempts=int(fields.get("round_attempts", 0)),
        token=int(fields.get("token", 0)),
        next_due=_optional_float(fields.get("next_due")),
        delivered_at=_optional_float(fields.get("delivered_at")),
        dead_at=_optional_float(fields.get("dead_at")),
        last_status=int(last_status) if last_status else None,
        last_error=fields.get("last_error") or None,
        attempt_log=attempts,
    )
