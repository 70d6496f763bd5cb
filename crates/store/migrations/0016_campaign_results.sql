-- Campaign response and return (issue 8, point 4), and campaigns on two channels at once
-- (SMS + e-mail). Same dialect tokens as 0001_dealer_model.sql.
--
-- response_window_days: a response is a visit, work order, order or test drive of a
-- recipient on the China day the campaign went out or in the following days, this many days
-- in all. sent_at: when the messages were handed to the outbox (phone, test-drive and event
-- campaigns start when prepared). results / results_at: the last computed results (JSON),
-- kept so the campaign overview need not recompute campaigns whose window had closed.
ALTER TABLE marketing_campaign ADD COLUMN response_window_days BIGINT NOT NULL DEFAULT 30;
ALTER TABLE marketing_campaign ADD COLUMN sent_at {{ts}};
ALTER TABLE marketing_campaign ADD COLUMN results TEXT;
ALTER TABLE marketing_campaign ADD COLUMN results_at {{ts}};
-- Campaigns sent before this column existed went out when they were last updated.
UPDATE marketing_campaign SET sent_at = updated_at WHERE status = 'sent';
-- The e-mail body of an SMS + e-mail recipient (`rendered` holds the SMS text, `subject`
-- the e-mail subject).
ALTER TABLE marketing_recipient ADD COLUMN rendered_email TEXT NOT NULL DEFAULT '';
CREATE INDEX message_outbox_campaign ON message_outbox (campaign_id, customer_id);
