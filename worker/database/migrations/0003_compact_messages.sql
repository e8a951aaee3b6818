-- Compact webhook messages: a delivered message costs one small row and a few index
-- entries. Existing messages and attempts are converted in place.
--
-- * The latest attempt of a message is on its row (attempt_*); webhook_attempts keeps
--   only the earlier ones, moved there when the next attempt is recorded. A message
--   delivered at its first try has no attempt row. The inline attempt's number is the
--   message's `attempts`.
-- * An endpoint gets an integer key (`num`) for message rows and their indexes; its
--   public id stays `id`.
-- * The event fields (type, article, version) are read from the payload row, which
--   holds them once per event.
-- * The status is one character: s scheduled, q queued, d delivered, x dead, h held;
--   so is the latest attempt's outcome. A finished message has no next_due.
-- * A message id is unique through a hash index (an exclusion constraint): 4 bytes of
--   hash per entry where a B-tree holds the whole id, and random ids fill hash buckets
--   evenly where they split B-tree pages. Attempts follow their message by a trigger,
--   since a foreign key needs a B-tree.
-- * Listing every endpoint's messages walks each endpoint's indexes, and retention walks
--   them too, so neither needs an index of its own.

ALTER TABLE webhook_endpoints ADD COLUMN num integer GENERATED ALWAYS AS IDENTITY;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_num UNIQUE (num);

-- Columns are ordered widest first, so that no byte is lost to alignment.
CREATE TABLE webhook_messages_compact (
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    payload_id        bigint NOT NULL REFERENCES webhook_payloads (id),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    next_due          timestamptz,
    lease_until       timestamptz,
    claimed_at        timestamptz,
    delivered_at      timestamptz,
    dead_at           timestamptz,
    attempt_at        timestamptz,
    attempt_next_due  timestamptz,
    attempt_latency   double precision,
    endpoint_num      integer NOT NULL REFERENCES webhook_endpoints (num) ON DELETE CASCADE,
    token             integer NOT NULL DEFAULT 0,
    attempts          smallint NOT NULL DEFAULT 0,
    round_attempts    smallint NOT NULL DEFAULT 0,  -- since the last replay
    last_status       smallint,
    attempt_status    smallint,
    status            "char" NOT NULL CHECK (status IN ('s', 'q', 'd', 'x', 'h')),
    id                text NOT NULL,
    last_error        text,
    attempt_outcome   "char",  -- d delivered, r retry, x dead, o disable, h hold
    attempt_reason    text,  -- NULL for none
    attempt_response  text,  -- NULL for none
    attempt_error     text
) WITH (fillfactor = 90);  -- room for a claim to be a HOT update (no index entries)

INSERT INTO webhook_messages_compact (
    seq, payload_id, created_at, updated_at, next_due, lease_until, claimed_at,
    delivered_at, dead_at, attempt_at, attempt_next_due, attempt_latency, endpoint_num,
    token, attempts, round_attempts, last_status, attempt_status, status, id, last_error,
    attempt_outcome, attempt_reason, attempt_response, attempt_error)
OVERRIDING SYSTEM VALUE
SELECT m.seq, m.payload_id, m.created_at, m.updated_at,
       CASE WHEN m.status IN ('scheduled', 'queued') THEN m.next_due END, m.lease_until,
       m.claimed_at, m.delivered_at, m.dead_at, a.at, a.next_due, a.latency_ms, e.num,
       m.token, m.attempts, m.round_attempts, m.last_status, a.status,
       CASE m.status WHEN 'scheduled' THEN 's' WHEN 'queued' THEN 'q' WHEN 'delivered' THEN 'd'
                     WHEN 'dead' THEN 'x' ELSE 'h' END,
       m.id, m.last_error,
       CASE a.outcome WHEN 'delivered' THEN 'd' WHEN 'retry' THEN 'r' WHEN 'dead' THEN 'x'
                      WHEN 'disable' THEN 'o' WHEN 'hold' THEN 'h' END,
       nullif(a.reason, ''), nullif(a.response, ''), a.error
FROM webhook_messages m
JOIN webhook_endpoints e ON e.id = m.endpoint_id
LEFT JOIN webhook_attempts a ON a.message_id = m.id AND a.number = m.attempts
     AND a.outcome IN ('delivered', 'retry', 'dead', 'disable', 'hold')
ORDER BY m.seq;

SELECT setval(pg_get_serial_sequence('webhook_messages_compact', 'seq'),
              coalesce((SELECT max(seq) FROM webhook_messages_compact), 0) + 1, false);

-- The attempts now on their message rows leave the log (one of an outcome without a
-- code stays there).
DELETE FROM webhook_attempts a USING webhook_messages m
WHERE a.message_id = m.id AND a.number = m.attempts
  AND a.outcome IN ('delivered', 'retry', 'dead', 'disable', 'hold');

DROP TABLE webhook_messages CASCADE;  -- with the attempts' foreign key
ALTER TABLE webhook_messages_compact RENAME TO webhook_messages;
ALTER SEQUENCE webhook_messages_compact_seq_seq RENAME TO webhook_messages_seq_seq;
ALTER TABLE webhook_messages RENAME CONSTRAINT webhook_messages_compact_payload_id_fkey
    TO webhook_messages_payload_id_fkey;
ALTER TABLE webhook_messages RENAME CONSTRAINT webhook_messages_compact_endpoint_num_fkey
    TO webhook_messages_endpoint_num_fkey;
ALTER TABLE webhook_messages RENAME CONSTRAINT webhook_messages_compact_status_check
    TO webhook_messages_status_check;
ALTER TABLE webhook_messages ADD CONSTRAINT webhook_messages_id
    EXCLUDE USING hash (id WITH =);

-- A message's logged attempts go with it (trim, endpoint deletion).
CREATE FUNCTION webhook_attempts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_attempts a USING gone g WHERE a.message_id = g.id AND g.attempts > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_messages_attempts AFTER DELETE ON webhook_messages
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION webhook_attempts_follow();

-- The schedule: due messages of an endpoint in order (promotion, the dispatch tick).
CREATE INDEX webhook_messages_due ON webhook_messages (endpoint_num, next_due, seq)
    WHERE status = 's';
-- Leased messages: the in-flight count per endpoint, and leases that ran out.
CREATE INDEX webhook_messages_leased ON webhook_messages (endpoint_num, lease_until)
    WHERE status = 'q';
-- An endpoint's finished messages by age: its deliveries (with its pending ones from the
-- two indexes above), every endpoint's (one walk each), replay, recovery and retention.
-- A message gets its entry when it is finished, not at each step of its delivery.
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_num, created_at)
    WHERE status IN ('d', 'x', 'h');
CREATE INDEX webhook_messages_dead ON webhook_messages (dead_at) WHERE status = 'x';
-- Payloads no message uses (retention). Messages are made in the order of their
-- payloads, so a block range holds a narrow span of payload ids: a BRIN index finds a
-- payload's messages in a few pages, for next to no bytes.
CREATE INDEX webhook_messages_payload ON webhook_messages USING brin (payload_id)
    WITH (pages_per_range = 8);
