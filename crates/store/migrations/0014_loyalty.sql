-- Loyalty points and membership (issue 8, point 5).
-- loyalty_account: one per member, created with the first ledger entry; member_no is issued
-- once (store code + sequence + check digit) from loyalty_member_seq. balance is kept in the
-- same transaction as the entries and lots it sums.
CREATE TABLE loyalty_account (
    customer_id BIGINT PRIMARY KEY REFERENCES customer(id),
    store_id BIGINT NOT NULL REFERENCES store(id),
    member_no TEXT NOT NULL UNIQUE,
    tier TEXT NOT NULL DEFAULT 'classic',
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    joined_on {{date}} NOT NULL,
    reviewed_on {{date}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
CREATE INDEX loyalty_account_review ON loyalty_account (reviewed_on);

CREATE TABLE loyalty_member_seq (
    store_id BIGINT PRIMARY KEY REFERENCES store(id),
    last_seq BIGINT NOT NULL
);

-- Append-only ledger. points is signed (credits > 0, debits < 0). (source_kind, source_id)
-- makes earning from one work order or purchase, and expiring one lot, happen once.
-- A transfer_in names its transfer_out in transfer_of.
CREATE TABLE loyalty_entry (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    store_id BIGINT NOT NULL REFERENCES store(id),
    kind TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points <> 0),
    occurred_on {{date}} NOT NULL,
    at {{ts}} NOT NULL,
    source_kind TEXT,
    source_id BIGINT,
    amount_fen BIGINT,
    counterpart_id BIGINT REFERENCES customer(id),
    transfer_of BIGINT REFERENCES loyalty_entry(id),
    staff_id BIGINT REFERENCES staff(id),
    reason TEXT NOT NULL DEFAULT '',
    UNIQUE (source_kind, source_id)
);
CREATE INDEX loyalty_entry_customer ON loyalty_entry (customer_id, occurred_on);

-- Lots: each credit opens one (a transfer opens one per lot it took, keeping its expiry).
CREATE TABLE loyalty_lot (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    entry_id BIGINT NOT NULL REFERENCES loyalty_entry(id),
    earned_on {{date}} NOT NULL,
    expires_on {{date}} NOT NULL,
    points BIGINT NOT NULL CHECK (points > 0),
    remaining BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= points)
);
CREATE INDEX loyalty_lot_open ON loyalty_lot (customer_id, remaining, expires_on);
CREATE INDEX loyalty_lot_expiry ON loyalty_lot (expires_on, remaining);

-- Which lots each debit consumed, and how many points of each.
CREATE TABLE loyalty_entry_lot (
    entry_id BIGINT NOT NULL REFERENCES loyalty_entry(id),
    lot_id BIGINT NOT NULL REFERENCES loyalty_lot(id),
    points BIGINT NOT NULL CHECK (points > 0),
    PRIMARY KEY (entry_id, lot_id)
){{no_rowid}};
CREATE INDEX loyalty_entry_lot_lot ON loyalty_entry_lot (lot_id);
