//! Browser sessions: sign-in with throttling and lock-out, server-side sessions with an
//! idle and an absolute expiry, a per-session CSRF token, sign-out and password change.
//!
//! The session cookie is a random token; the database keeps only its SHA-256, so a copy
//! of the database does not contain live sessions.

use crate::auth::{
    MIN_PASSWORD_CHARS, hash_password, hex, random_bytes, token_hash, verify_password,
};
use crate::{Actor, Result, ServiceError, Services};
use chrono::{DateTime, Duration, Utc};
use dealerbase_domain::Lang;
use dealerbase_store::Id;
use dealerbase_store::web::LoginThrottle;

/// A session ends after this long without a request…
pub const SESSION_IDLE: Duration = Duration::hours(2);
/// …and in any case this long after sign-in (one working day), so a stolen cookie ages out.
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);
/// Extending the idle expiry on every request would write on every page view; it is
/// pushed forward only once it has less than this much left of SESSION_IDLE used up.
const EXTEND_AFTER: Duration = Duration::minutes(5);

/// From this many consecutive failures of one login on, each answer is slowed down…
pub const SLOW_AFTER_FAILURES: i64 = 3;
/// …and at this many the login is locked for LOCK_FOR, even for the right password.
pub const LOCK_AFTER_FAILURES: i64 = 5;
pub const LOCK_FOR: Duration = Duration::minutes(15);

/// A new session: the cookie value and the CSRF token, shown once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub actor: Actor,
}

/// The session behind a cookie.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub actor: Actor,
    pub csrf_token: String,
    pub token_hash: String,
}

/// Why a sign-in was refused. The message never tells whether the login exists.
#[derive(Debug)]
pub enum SignInFailure {
    /// Wrong login or password; the caller waits `delay` before answering.
    BadCredentials {
        delay: std::time::Duration,
    },
    /// Too many failures: no password is accepted until then.
    Locked {
        until: DateTime<Utc>,
    },
    Internal(ServiceError),
}

impl From<ServiceError> for SignInFailure {
    fn from(e: ServiceError) -> Self {
        SignInFailure::Internal(e)
    }
}

impl From<dealerbase_store::StoreError> for SignInFailure {
    fn from(e: dealerbase_store::StoreError) -> Self {
        SignInFailure::Internal(e.into())
    }
}

impl SignInFailure {
    pub fn code(&self) -> &'static str {
        match self {
            SignInFailure::BadCredentials { .. } => "bad_credentials",
            SignInFailure::Locked { .. } => "locked",
            SignInFailure::Internal(e) => e.code(),
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (SignInFailure::BadCredentials { .. }, Lang::Zh) => "登录名或密码错误".into(),
            (SignInFailure::BadCredentials { .. }, Lang::En) => "wrong login or password".into(),
            (SignInFailure::Locked { until }, Lang::Zh) => format!(
                "登录失败次数过多，账号已暂时锁定，请于 {} 后再试",
                china_time(*until)
            ),
            (SignInFailure::Locked { until }, Lang::En) => format!(
                "too many failed sign-ins: this login is locked until {} (China time)",
                china_time(*until)
            ),
            (SignInFailure::Internal(e), l) => e.message(l),
        }
    }
}

fn china_time(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8)).format("%H:%M").to_string()
}

/// Why a password change was refused.
#[derive(Debug)]
pub enum PasswordChangeError {
    WrongCurrent,
    TooShort,
    Mismatch,
    Internal(ServiceError),
}

impl From<ServiceError> for PasswordChangeError {
    fn from(e: ServiceError) -> Self {
        PasswordChangeError::Internal(e)
    }
}

impl From<dealerbase_store::StoreError> for PasswordChangeError {
    fn from(e: dealerbase_store::StoreError) -> Self {
        PasswordChangeError::Internal(e.into())
    }
}

impl PasswordChangeError {
    /// The form field the error belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            PasswordChangeError::WrongCurrent => "current_password",
            PasswordChangeError::TooShort => "new_password",
            PasswordChangeError::Mismatch => "confirm_password",
            PasswordChangeError::Internal(_) => "",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (PasswordChangeError::WrongCurrent, Lang::Zh) => "当前密码不正确".into(),
            (PasswordChangeError::WrongCurrent, Lang::En) => "the current password is wrong".into(),
            (PasswordChangeError::TooShort, Lang::Zh) => {
                format!("新密码至少需要 {MIN_PASSWORD_CHARS} 个字符")
            }
            (PasswordChangeError::TooShort, Lang::En) => {
                format!("the new password needs at least {MIN_PASSWORD_CHARS} characters")
            }
            (PasswordChangeError::Mismatch, Lang::Zh) => "两次输入的新密码不一致".into(),
            (PasswordChangeError::Mismatch, Lang::En) => "the two new passwords differ".into(),
            (PasswordChangeError::Internal(e), l) => e.message(l),
        }
    }
}

/// The throttle after one more failure at `now`: a lock that has run out starts the
/// count again; reaching LOCK_AFTER_FAILURES locks the login for LOCK_FOR.
pub fn after_failure(t: &LoginThrottle, now: DateTime<Utc>) -> LoginThrottle {
    let expired_lock = t.locked_until.is_some_and(|u| u <= now);
    let failures = if expired_lock { 1 } else { t.failures + 1 };
    LoginThrottle {
        failures,
        last_failure_at: Some(now),
        locked_until: (failures >= LOCK_AFTER_FAILURES).then_some(now + LOCK_FOR),
    }
}

/// How long to hold the answer to the n-th consecutive failure: nothing at first, then
/// one more second per failure (a person barely notices; a password guesser does).
pub fn failure_delay(failures: i64) -> std::time::Duration {
    if failures < SLOW_AFTER_FAILURES {
        std::time::Duration::ZERO
    } else {
        std::time::Duration::from_secs((failures - SLOW_AFTER_FAILURES + 1).min(5) as u64)
    }
}

/// Sign-in throttling is per login; very long inputs are cut so they cannot fill rows.
fn throttle_key(login: &str) -> String {
    login
        .trim()
        .chars()
        .take(64)
        .collect::<String>()
        .to_lowercase()
}

impl Services {
    /// Signs in by login and password and opens a session.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        user_agent: &str,
    ) -> std::result::Result<NewSession, SignInFailure> {
        let now = self.clock.now();
        let key = throttle_key(login);
        let throttle = self.db.login_throttle(&key).await?;
        if let Some(until) = throttle.locked_until
            && until > now
        {
            return Err(SignInFailure::Locked { until });
        }
        match self.authenticate(login, password).await {
            Ok(actor) => {
                if throttle.failures > 0 || throttle.locked_until.is_some() {
                    self.db.clear_login_throttle(&key).await?;
                }
                // Sign-ins are rare enough to carry the clean-up of expired sessions.
                self.db.delete_expired_web_sessions(now).await?;
                let token = format!("dbs_{}", hex(&random_bytes::<32>()?));
                let csrf_token = hex(&random_bytes::<32>()?);
                let ua: String = user_agent.chars().take(200).collect();
                self.db
                    .create_web_session(
                        &token_hash(&token),
                        actor.staff_id,
                        &csrf_token,
                        now,
                        now + SESSION_IDLE,
                        now + SESSION_ABSOLUTE,
                        &ua,
                    )
                    .await?;
                self.db
                    .audit(
                        Some(actor.staff_id),
                        "sign_in",
                        "staff",
                        Some(actor.staff_id),
                        "",
                        now,
                    )
                    .await?;
                Ok(NewSession {
                    token,
                    csrf_token,
                    actor,
                })
            }
            Err(ServiceError::Unauthenticated) => {
                let next = after_failure(&throttle, now);
                self.db.set_login_throttle(&key, &next).await?;
                let staff_id = self.db.staff_by_login(login.trim()).await?.map(|s| s.id);
                let detail: String = login.trim().chars().take(64).collect();
                self.db
                    .audit(staff_id, "sign_in_failed", "staff", staff_id, &detail, now)
                    .await?;
                match next.locked_until {
                    Some(until) => {
                        self.db
                            .audit(staff_id, "sign_in_locked", "staff", staff_id, &detail, now)
                            .await?;
                        Err(SignInFailure::Locked { until })
                    }
                    None => Err(SignInFailure::BadCredentials {
                        delay: failure_delay(next.failures),
                    }),
                }
            }
            Err(e) => Err(SignInFailure::Internal(e)),
        }
    }

    /// The live session behind a cookie value. Expired sessions and sessions of
    /// deactivated staff are removed and answer `Unauthenticated`.
    pub async fn session(&self, token: &str) -> Result<SessionInfo> {
        let now = self.clock.now();
        let hash = token_hash(token);
        let Some(s) = self.db.web_session(&hash).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        if s.expires_at <= now || s.absolute_expires_at <= now {
            self.db.delete_web_session(&hash).await?;
            return Err(ServiceError::Unauthenticated);
        }
        let staff = self.db.staff(s.staff_id).await?;
        if !staff.active {
            self.db.delete_web_session(&hash).await?;
            return Err(ServiceError::Unauthenticated);
        }
        let wanted = (now + SESSION_IDLE).min(s.absolute_expires_at);
        if wanted - s.expires_at > EXTEND_AFTER {
            self.db.extend_web_session(&hash, wanted).await?;
        }
        Ok(SessionInfo {
            actor: Actor::from_staff(&staff)?,
            csrf_token: s.csrf_token,
            token_hash: hash,
        })
    }

    /// Ends a session (signing out). Unknown tokens are ignored.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        if let Some(s) = self.db.web_session(&hash).await? {
            self.db.delete_web_session(&hash).await?;
            self.db
                .audit(
                    Some(s.staff_id),
                    "sign_out",
                    "staff",
                    Some(s.staff_id),
                    "",
                    self.clock.now(),
                )
                .await?;
        }
        Ok(())
    }

    /// Changes the actor's own password after checking the current one; every other
    /// session of the actor ends (the one given by `keep_token_hash` stays).
    pub async fn change_password(
        &self,
        actor: &Actor,
        keep_token_hash: Option<&str>,
        current: &str,
        new: &str,
        confirm: &str,
    ) -> std::result::Result<(), PasswordChangeError> {
        let staff = self.db.staff(actor.staff_id).await?;
        let ok = staff
            .password_hash
            .as_deref()
            .is_some_and(|h| verify_password(current, h));
        if !ok {
            return Err(PasswordChangeError::WrongCurrent);
        }
        if new.chars().count() < MIN_PASSWORD_CHARS || new.chars().count() > 128 {
            return Err(PasswordChangeError::TooShort);
        }
        if new != confirm {
            return Err(PasswordChangeError::Mismatch);
        }
        let hash = hash_password(new)?;
        self.db.set_password_hash(actor.staff_id, &hash).await?;
        self.db
            .delete_web_sessions_of(actor.staff_id, keep_token_hash)
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "password_change",
                "staff",
                Some(actor.staff_id),
                "",
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// Ends every session of a staff member (after a password reset or deactivation).
    pub async fn end_sessions_of(&self, staff_id: Id) -> Result<u64> {
        Ok(self.db.delete_web_sessions_of(staff_id, None).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_slow_then_lock_then_start_over() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut t = LoginThrottle::default();
        let mut delays = Vec::new();
        for _ in 0..4 {
            t = after_failure(&t, t0);
            delays.push(failure_delay(t.failures).as_secs());
            assert!(t.locked_until.is_none());
        }
        assert_eq!(delays, vec![0, 0, 1, 2]);
        t = after_failure(&t, t0);
        assert_eq!(t.locked_until, Some(t0 + LOCK_FOR));
        // After the lock runs out the count starts again.
        let later = t0 + LOCK_FOR + Duration::seconds(1);
        t = after_failure(&t, later);
        assert_eq!((t.failures, t.locked_until), (1, None));
    }
}
