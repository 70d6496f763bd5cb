//! Passwords (argon2id) and per-user API tokens (random, stored as SHA-256 hashes).

use crate::{Actor, Result, ServiceError, Services};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use dealerbase_domain::model::Role;
use dealerbase_domain::{Rule, ValidationError};
use dealerbase_store::Id;
use sha2::{Digest, Sha256};

pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    Ok(b)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(ValidationError::new(
            "password",
            "********",
            Rule::OutOfRange {
                min: MIN_PASSWORD_CHARS as i64,
                max: 128,
            },
        )));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Services {
    /// Creates a staff member (a user). Store-bound roles need a store of the group.
    pub async fn add_user(
        &self,
        group_id: Id,
        store_id: Option<Id>,
        login: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<Id> {
        let login = login.trim();
        if login.is_empty()
            || login.len() > 64
            || !login
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(ServiceError::invalid(ValidationError::new(
                "login",
                login,
                Rule::OneOf {
                    allowed: vec!["a-z 0-9 . _ - @ (1–64)".into()],
                },
            )));
        }
        if store_id.is_none() && !matches!(role, Role::Group | Role::Admin) {
            return Err(ServiceError::invalid(ValidationError::new(
                "store",
                "",
                Rule::Required,
            )));
        }
        if let Some(s) = store_id {
            let store = self.db.store(s).await?;
            if store.group_id != group_id {
                return Err(ServiceError::NotFound {
                    entity: "store",
                    id: s.to_string(),
                });
            }
        }
        let hash = hash_password(password)?;
        let name = if name.trim().is_empty() {
            login
        } else {
            name.trim()
        };
        Ok(self
            .db
            .create_staff(
                group_id,
                store_id,
                login,
                name,
                role.code(),
                Some(&hash),
                self.clock.now(),
            )
            .await?)
    }

    /// Signs in by login and password.
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<Actor> {
        let staff = self
            .db
            .staff_by_login(login.trim())
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        match &staff.password_hash {
            Some(h) if staff.active && verify_password(password, h) => Actor::from_staff(&staff),
            _ => Err(ServiceError::Unauthenticated),
        }
    }

    /// Issues an API token for a staff member; only its hash is stored.
    pub async fn issue_api_token(&self, staff_id: Id, label: &str) -> Result<String> {
        let token = format!("dbk_{}", hex(&random_bytes::<24>()?));
        self.db
            .create_api_token(staff_id, &token_hash(&token), label, self.clock.now())
            .await?;
        Ok(token)
    }

    pub async fn actor_for_token(&self, token: &str) -> Result<Actor> {
        let staff = self
            .db
            .staff_by_token_hash(&token_hash(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if !staff.active {
            return Err(ServiceError::Unauthenticated);
        }
        Actor::from_staff(&staff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(hash_password("short").unwrap_err().code(), "out_of_range");
    }
}
