"""Per-endpoint rate limits, enforced across every worker and host through Redis.

An endpoint with ``rate_limit`` r (messages per second) gets one message every 1/r
seconds, with a burst of up to r at once (one second's worth): the generic cell rate
algorithm, its one number per endpoint (the moment its budget is next free) kept in
Redis and updated by a script, so any number of workers share one budget and Redis's
clock is the only clock. One round trip asks for every rate-limited endpoint of a batch.

A message the budget has no room for is not sent: it goes back to the schedule, due
when the budget has room (no attempt is counted). While Redis cannot be reached, no
message of a rate-limited endpoint is sent (each is put back for a second): an
endpoint's limit is a promise to its owner.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis

from worker.keys import Keys

log = logging.getLogger(__name__)

#: Waited before asking again when Redis cannot be reached.
UNREACHABLE_WAIT = 1.0

# KEYS: one budget per endpoint. ARGV: per key, the interval (µs between messages) and
# how many messages are wanted. Returns, per key, how many may go now and the µs until
# the next one may. The burst is one second: the budget may run up to 1 s ahead.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local burst = 1000000
local answers = {}
for i, key in ipairs(KEYS) do
    local interval = tonumber(ARGV[2 * i - 1])
    local wanted = tonumber(ARGV[2 * i])
    local free_at = tonumber(redis.call('GET', key) or '0')
    if free_at < now then free_at = now end
    local granted = 0
    while granted < wanted and free_at + interval - now <= burst do
        free_at = free_at + interval
        granted = granted + 1
    end
    redis.call('SET', key, tostring(free_at), 'PX', math.floor(burst / 1000) + 1000)
    local wait = free_at + interval - burst - now
    if wait < 0 then wait = 0 end
    answers[#answers + 1] = granted
    answers[#answers + 1] = wait
end
return answers
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """How many messages may go now, and the seconds until the next one may."""

    granted: int
    wait: float


class RateBudgets:
    """Takes messages from endpoints' rate budgets in Redis."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.client = client
        self.keys = keys or Keys()
        self._script = client.register_script(_TAKE)

    def take(self, wanted: Mapping[str, tuple[int, int]]) -> dict[str, Grant]:
        """For each endpoint id, (its rate limit, messages wanted): what is granted."""
        if not wanted:
            return {}
        ids: Sequence[str] = list(wanted)
        args: list[int] = []
        for endpoint_id in ids:
            rate, count = wanted[endpoint_id]
            args += [max(1, 1_000_000 // max(rate, 1)), count]
        try:
            answer = self._script(keys=[self.keys.rate_budget(i) for i in ids], args=args)
        except redis.RedisError as error:
            log.warning("rate budgets unreachable, rate-limited messages wait: %s", error)
            return {i: Grant(0, UNREACHABLE_WAIT) for i in ids}
        return {
            endpoint_id: Grant(int(answer[2 * n]), int(answer[2 * n + 1]) / 1_000_000)
            for n, endpoint_id in enumerate(ids)
        }
