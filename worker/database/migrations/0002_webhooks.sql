-- Webhook delivery: endpoints with their signing secrets, each event's payload (stored
-- once, whatever the number of endpoints), one message per event and endpoint with its
-- delivery state, and the log of attempts. Dead letters are messages in status 'dead'.
-- Redis holds none of this; the in-flight cap is a count of leased messages.

-- A subscribed endpoint. `enabled` is false after a 410, after failing continuously for
-- the disable period, or by an operator (`disabled_reason` says which). `rate_limit`
-- (messages per second) and `ordering` are reserved for a later issue: not used yet.
CREATE TABLE webhook_endpoints (
    id               text PRIMARY KEY,
    url              text NOT NULL,
    events           text[] NOT NULL,
    authors          text[] NOT NULL DEFAULT '{}',
    tags             text[] NOT NULL DEFAULT '{}',
    description      text NOT NULL DEFAULT '',
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    disabled_at      timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    max_in_flight    integer NOT NULL DEFAULT 1 CHECK (max_in_flight >= 1),
    rate_limit       double precision CHECK (rate_limit > 0),
    ordering         text NOT NULL DEFAULT 'none' CHECK (ordering IN ('none', 'fifo')),
    failing_since    timestamptz,
    last_success_at  timestamptz,
    last_failure_at  timestamptz
);
CREATE INDEX webhook_endpoints_created ON webhook_endpoints (created_at, id);

-- Signing secrets of an endpoint, newest first (`position` 0). A secret replaced by a
-- rotation keeps signing until `expires_at`; the current one has none.
CREATE TABLE webhook_secrets (
    endpoint_id  text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    position     smallint NOT NULL,
    secret       text NOT NULL,
    expires_at   timestamptz,
    PRIMARY KEY (endpoint_id, position)
);

-- The signed body of an event, once for all its endpoints: one row per (article,
-- version, event type); a webhook.test message has a row of its own (no article).
CREATE TABLE webhook_payloads (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type        text NOT NULL,
    article_id  text,
    version     integer,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX webhook_payloads_event ON webhook_payloads (article_id, version, type)
    WHERE article_id IS NOT NULL;
CREATE INDEX webhook_payloads_created ON webhook_payloads (created_at);

-- One event for one endpoint. The id is derived from (endpoint, type, article,
-- version), so dispatching an event twice makes one message; it is the webhook-id of
-- every attempt. Life:
--
--   scheduled --promote--> queued --attempt--> delivered
--       ^                    |  \-----------> dead   (schedule exhausted)
--       |------retry---------'   \----------> held   (endpoint disabled)
--   replay / recover / enable <-------------- dead, held, delivered
--
-- `next_due`: when a scheduled message is attempted. Promotion makes it queued with a
-- new `token` and a lease (`lease_until`): a message whose task was lost comes due
-- again when the lease ends. An attempt is claimed (`claimed_at`) and finished only
-- with the current token. Leased messages count against the endpoint's max_in_flight.
-- `seq` orders messages made at the same moment: first attempts follow event order.
CREATE TABLE webhook_messages (
    id               text PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY,
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    type             text NOT NULL,
    article_id       text,
    version          integer,
    payload_id       bigint NOT NULL REFERENCES webhook_payloads (id),
    status           text NOT NULL
                     CHECK (status IN ('scheduled', 'queued', 'delivered', 'dead', 'held')),
    attempts         integer NOT NULL DEFAULT 0,
    round_attempts   integer NOT NULL DEFAULT 0,  -- since the last replay
    token            bigint NOT NULL DEFAULT 0,
    next_due         timestamptz,
    lease_until      timestamptz,
    claimed_at       timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    dead_at          timestamptz,
    last_status      integer,
    last_error       text
);
-- The schedule: due messages of an endpoint in order (promotion, the dispatch tick).
CREATE INDEX webhook_messages_due ON webhook_messages (endpoint_id, next_due, seq)
    WHERE status = 'scheduled';
-- Leased messages: the in-flight count per endpoint, and leases that ran out.
CREATE INDEX webhook_messages_leased ON webhook_messages (endpoint_id, lease_until)
    WHERE status = 'queued';
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, created_at);
CREATE INDEX webhook_messages_created ON webhook_messages (created_at);
-- Retention: finished messages by when they last changed (partial, like the schedule
-- and lease indexes, so a message in delivery costs no entry here).
CREATE INDEX webhook_messages_finished ON webhook_messages (updated_at)
    WHERE status IN ('delivered', 'dead', 'held');
CREATE INDEX webhook_messages_dead ON webhook_messages (dead_at) WHERE status = 'dead';
CREATE INDEX webhook_messages_payload ON webhook_messages (payload_id);

-- Every attempt of a message: when, the HTTP status (none when no response came), the
-- latency, the first 2 KiB of the response, the transport error, and the verdict.
CREATE TABLE webhook_attempts (
    message_id  text NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    number      integer NOT NULL,
    at          timestamptz NOT NULL,
    status      integer,
    latency_ms  double precision NOT NULL,
    response    text NOT NULL DEFAULT '',
    error       text,
    outcome     text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    next_due    timestamptz,
    PRIMARY KEY (message_id, number)
);

-- Delivery counters (attempts delivered and failed, dead letters, endpoints disabled),
-- written in the transaction that records the outcome. A counter is spread over a few
-- rows (`shard`) so that concurrent attempts rarely wait on one another; read the sum.
CREATE TABLE webhook_counters (
    name   text NOT NULL,
    shard  smallint NOT NULL,
    value  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (name, shard)
);
