//! Messaging configuration for `serve` (SMTP server, SMS gateway, webhook secret,
//! unsubscribe-link key), each flag also read from a `DEALERBASE_*` variable, and the
//! background loop that sends what is due from the outbox.

use anyhow::{Result, bail};
use clap::Args;
use dealerbase_service::Services;
use dealerbase_service::messaging::{
    DEFAULT_SMS_TEMPLATE, MessagingConfig, SmsGatewayConfig, SmtpConfig, SmtpSecurity,
};

#[derive(Args, Clone, Debug, Default)]
pub struct MessagingArgs {
    /// SMTP server for e-mail; without it e-mails wait in the outbox
    #[arg(long, env = "DEALERBASE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (587 for STARTTLS, 465 for TLS, 25 plain)
    #[arg(long, env = "DEALERBASE_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// starttls | tls | plain
    #[arg(long, env = "DEALERBASE_SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,
    #[arg(long, env = "DEALERBASE_SMTP_USER")]
    pub smtp_user: Option<String>,
    #[arg(long, env = "DEALERBASE_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Sender, e.g. "星辰汽车 <crm@example.cn>"
    #[arg(
        long,
        env = "DEALERBASE_SMTP_FROM",
        default_value = "dealerbase <crm@localhost>"
    )]
    pub smtp_from: String,
    /// SMS gateway send endpoint (HTTP POST); without it SMS wait in the outbox
    #[arg(long, env = "DEALERBASE_SMS_URL")]
    pub sms_url: Option<String>,
    /// JSON payload with {mobile}, {text} and {id} placeholders
    #[arg(long, env = "DEALERBASE_SMS_TEMPLATE", default_value = DEFAULT_SMS_TEMPLATE)]
    pub sms_template: String,
    /// Bearer token for the gateway
    #[arg(long, env = "DEALERBASE_SMS_TOKEN", hide_env_values = true)]
    pub sms_token: Option<String>,
    /// Shared secret the gateway sends in X-Gateway-Secret on /api/v1/sms/inbound and /status
    #[arg(long, env = "DEALERBASE_SMS_WEBHOOK_SECRET", hide_env_values = true)]
    pub sms_webhook_secret: Option<String>,
    /// Key signing e-mail unsubscribe links (keep it stable: links carry its signature)
    #[arg(long, env = "DEALERBASE_UNSUBSCRIBE_SECRET", hide_env_values = true)]
    pub unsubscribe_secret: Option<String>,
    /// Public address of the application, for unsubscribe links
    #[arg(
        long,
        env = "DEALERBASE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

impl MessagingArgs {
    pub fn config(&self) -> Result<MessagingConfig> {
        let security = match SmtpSecurity::parse(&self.smtp_security) {
            Ok(s) => s,
            Err(e) => bail!(
                "--smtp-security: {}",
                e.message(dealerbase_domain::Lang::En)
            ),
        };
        let unsubscribe_key = match &self.unsubscribe_secret {
            Some(s) if !s.is_empty() => s.as_bytes().to_vec(),
            _ => {
                // Without a configured key, links are signed with a random one and stop
                // working at the next restart.
                tracing::warn!(
                    "DEALERBASE_UNSUBSCRIBE_SECRET is not set: unsubscribe links work until restart"
                );
                let mut k = vec![0u8; 32];
                getrandom::fill(&mut k).map_err(|e| anyhow::anyhow!("random key: {e}"))?;
                k
            }
        };
        Ok(MessagingConfig {
            smtp: self.smtp_host.as_ref().map(|host| SmtpConfig {
                host: host.clone(),
                port: self.smtp_port,
                security,
                username: self.smtp_user.clone(),
                password: self.smtp_password.clone(),
                from: self.smtp_from.clone(),
            }),
            sms: self.sms_url.as_ref().map(|url| SmsGatewayConfig {
                url: url.clone(),
                payload_template: self.sms_template.clone(),
                token: self.sms_token.clone(),
            }),
            inbound_secret: self.sms_webhook_secret.clone().filter(|s| !s.is_empty()),
            unsubscribe_key,
            public_url: self.public_url.clone(),
        })
    }
}

/// Every half minute, sends what is due from the outbox (on every instance: claiming a
/// row is a conditional update, so two instances never send the same one).
pub fn spawn_outbox_dispatcher(svc: Services) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            if let Err(e) = svc.run_outbox().await {
                tracing::error!(error = %e, "sending from the outbox failed; retrying at the next tick");
            }
        }
    });
}
