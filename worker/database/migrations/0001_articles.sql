-- The article side of the record: submissions (with their raw input), articles and their
-- versions, the events that publishers and webhooks consume, refused inputs, feeds with
-- their membership, archive ordinals and published documents.

-- One accepted request to store or withdraw an article. `seq` orders submissions of one
-- article: an older one never overwrites a newer one. `queued_at` is the outbox clock:
-- a submission still queued or processing long after it is found and queued again.
CREATE TABLE submissions (
    id            text PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    kind          text NOT NULL CHECK (kind IN ('upsert', 'delete')),
    article_id    text NOT NULL,
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'processing', 'done', 'failed', 'discarded')),
    received_at   timestamptz NOT NULL,
    queued_at     timestamptz NOT NULL,
    raw           bytea,  -- NULL once the retention period of a finished submission ends
    size          integer NOT NULL DEFAULT 0,
    format        text,
    content_type  text,
    result        text,
    version       integer NOT NULL DEFAULT 0,
    error         text,
    done_at       timestamptz,
    failed_at     timestamptz,
    failures      integer NOT NULL DEFAULT 0,
    retries       integer NOT NULL DEFAULT 0,
    retried_at    timestamptz,
    discarded_at  timestamptz
);
CREATE INDEX submissions_unfinished ON submissions (queued_at)
    WHERE status IN ('queued', 'processing');
CREATE INDEX submissions_failed ON submissions (failed_at DESC) WHERE status = 'failed';
CREATE INDEX submissions_article ON submissions (article_id, seq);
CREATE INDEX submissions_raw_kept ON submissions (done_at)
    WHERE raw IS NOT NULL AND status = 'done';
CREATE INDEX submissions_raw_discarded ON submissions (discarded_at)
    WHERE raw IS NOT NULL AND status = 'discarded';

-- The current state of an article id; its documents are in article_versions.
CREATE TABLE articles (
    id            text PRIMARY KEY,
    status        text NOT NULL DEFAULT 'queued',
    version       integer NOT NULL DEFAULT 0,
    seq           bigint NOT NULL DEFAULT 0,
    content_hash  text NOT NULL DEFAULT '',
    deleted       boolean NOT NULL DEFAULT false,
    error         text,
    published_at  timestamptz
);
CREATE INDEX articles_live ON articles (published_at DESC) WHERE version > 0 AND NOT deleted;
CREATE INDEX articles_status ON articles (status);

-- Every version of every article (the history), with its document as JSON text.
CREATE TABLE article_versions (
    article_id        text NOT NULL REFERENCES articles (id),
    version           integer NOT NULL,
    event             text NOT NULL,
    content_hash      text NOT NULL,
    at                timestamptz NOT NULL,
    changed_sections  text[] NOT NULL DEFAULT '{}',
    submission_id     text NOT NULL,
    document          text NOT NULL,
    PRIMARY KEY (article_id, version)
);

-- What happened to articles, in commit order: webhooks turn each into messages.
CREATE TABLE events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type              text NOT NULL,
    article_id        text NOT NULL,
    version           integer NOT NULL,
    seq               bigint NOT NULL,
    submission_id     text NOT NULL,
    at                timestamptz NOT NULL,
    changed_sections  text[] NOT NULL DEFAULT '{}',
    dispatched_at     timestamptz
);
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;
CREATE INDEX events_at ON events (at);

-- Input the API refused before it became a submission, kept with its error.
CREATE TABLE rejected_inputs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    error         text NOT NULL,
    content_type  text,
    raw           bytea NOT NULL
);
CREATE INDEX rejected_inputs_at ON rejected_inputs (at DESC);

-- A feed: 'main', 'author:<slug>' or 'tag:<slug>'. It needs rendering while
-- `changes` > `rendered_changes`: a commit bumps `changes`, and a render records the
-- value it started from, so a change made during a render keeps the feed dirty.
CREATE TABLE feeds (
    key               text PRIMARY KEY,
    name              text NOT NULL DEFAULT '',
    ordinals_issued   bigint NOT NULL DEFAULT 0,
    changes           bigint NOT NULL DEFAULT 0,
    rendered_changes  bigint NOT NULL DEFAULT 0,
    pages_published   integer,
    renders           bigint NOT NULL DEFAULT 0,
    published_at      timestamptz
);
CREATE INDEX feeds_dirty ON feeds (key) WHERE changes > rendered_changes;

-- The live articles of a feed. An article gets an ordinal when it enters the feed and
-- frees it when it leaves: archive page k holds ordinals [k*N, (k+1)*N), never shifting.
CREATE TABLE feed_entries (
    feed          text NOT NULL REFERENCES feeds (key),
    article_id    text NOT NULL,
    ordinal       bigint NOT NULL,
    published_at  timestamptz NOT NULL,
    PRIMARY KEY (feed, article_id)
);
CREATE INDEX feed_entries_newest ON feed_entries (feed, published_at DESC, article_id);
CREATE UNIQUE INDEX feed_entries_ordinal ON feed_entries (feed, ordinal);

-- Ordinals whose archive page must be rendered again (an entry changed or left).
CREATE TABLE feed_changes (
    feed     text NOT NULL REFERENCES feeds (key),
    ordinal  bigint NOT NULL,
    PRIMARY KEY (feed, ordinal)
);

-- Rendered documents as served under /feeds/, stored once, gzip-compressed.
CREATE TABLE feed_documents (
    path           text PRIMARY KEY,
    gzip           bytea NOT NULL,
    size           integer NOT NULL,
    etag           text NOT NULL,
    last_modified  text NOT NULL,
    media_type     text NOT NULL,
    links          text NOT NULL DEFAULT '',
    published_at   timestamptz NOT NULL
);

-- WebSub subscriptions to published documents (leases expire; never perpetual).
CREATE TABLE websub_subscriptions (
    path        text NOT NULL,
    callback    text NOT NULL,
    secret      text,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (path, callback)
);
CREATE INDEX websub_subscriptions_expiry ON websub_subscriptions (expires_at);

-- Tasks that failed for good (Celery dead letters), kept to be shown, retried or discarded.
CREATE TABLE task_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    fields      jsonb NOT NULL
);
CREATE INDEX task_failures_at ON task_failures (at DESC);
