-- Lawful message sending (issue 8, point 3): the outbox every SMS and e-mail goes through,
-- the suppression list and the delivery-status events.
--
-- A row is written once per idempotency_key (the caller's key: campaign + customer, a
-- reminder's task, …), so enqueuing twice writes one row. The dispatcher claims a row by
-- a conditional UPDATE (status 'queued' → 'sending'); a row left in 'sending' by a crashed
-- process is claimed again after its lease (next_attempt_at) and sent with the SAME key,
-- which the SMS gateway dedups on and which names the e-mail's Message-ID.
CREATE TABLE message_outbox (
    id {{pk}},
    idempotency_key TEXT NOT NULL UNIQUE,
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT REFERENCES customer(id),
    campaign_id BIGINT,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    -- queued, sending, sent, delivered, failed, skipped
    status TEXT NOT NULL,
    skip_reason TEXT,
    -- store-local day the message goes out (after the sending-hours deferral): the day of
    -- "one identical message per number per day" and of the frequency cap
    send_day {{date}} NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at {{ts}} NOT NULL,
    last_error TEXT,
    provider_id TEXT,
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    sent_at {{ts}},
    delivered_at {{ts}}
);
CREATE INDEX message_outbox_due ON message_outbox (status, next_attempt_at);
CREATE INDEX message_outbox_to_day ON message_outbox (to_address, send_day);
CREATE INDEX message_outbox_customer_day ON message_outbox (customer_id, purpose, send_day);
CREATE INDEX message_outbox_store ON message_outbox (store_id, created_at);
CREATE INDEX message_outbox_provider ON message_outbox (provider_id);

-- Numbers and e-mail addresses that must receive no marketing (opt-out replies, unsubscribe
-- links, entries by hand). One row per address; removal deletes it (audited).
CREATE TABLE message_suppression (
    id {{pk}},
    address TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    customer_id BIGINT REFERENCES customer(id),
    created_by BIGINT REFERENCES staff(id),
    created_at {{ts}} NOT NULL
);

-- Every status change a transport or a gateway callback reports, for the message's history.
CREATE TABLE message_event (
    id {{pk}},
    outbox_id BIGINT NOT NULL REFERENCES message_outbox(id),
    at {{ts}} NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX message_event_outbox ON message_event (outbox_id, at);

-- Inbound SMS replies as received (the opt-out keywords are acted on; the rest kept).
CREATE TABLE message_inbound (
    id {{pk}},
    from_address TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at {{ts}} NOT NULL,
    opt_out TEXT
);
