-- The web application: server-side sessions and sign-in throttling.
-- Same dialect tokens as 0001_dealer_model.sql.

-- A signed-in browser. Only a SHA-256 of the session cookie is kept, so a copy of the
-- database does not hand out live sessions. The CSRF token is per session and sent back
-- in every form and state-changing request.
CREATE TABLE web_session (
    token_hash TEXT PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    csrf_token TEXT NOT NULL,
    created_at {{ts}} NOT NULL,
    -- idle expiry, pushed forward as the session is used, never past absolute_expires_at
    expires_at {{ts}} NOT NULL,
    absolute_expires_at {{ts}} NOT NULL,
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_session_staff ON web_session (staff_id);
CREATE INDEX web_session_expires ON web_session (absolute_expires_at);

-- Failed sign-ins per login (also for logins that do not exist, so that the answer does
-- not tell which logins are real). Reset by a successful sign-in.
CREATE TABLE login_throttle (
    login TEXT PRIMARY KEY,
    failures BIGINT NOT NULL DEFAULT 0,
    last_failure_at {{ts}},
    locked_until {{ts}}
);

CREATE INDEX audit_log_staff ON audit_log (staff_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);
