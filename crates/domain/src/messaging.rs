//! Lawful message sending (issue 8, point 3; DOMAIN.md §6): the pure rules the outbox
//! applies before and while sending — consent per purpose and channel, the store's sending
//! hours, one identical message per number per day, the marketing frequency cap, the SMS
//! signature and opt-out text, opt-out replies, and the retry back-off.
//!
//! Everything here takes times and dates as arguments; nothing reads the clock.

use crate::error::{Lang, Rule, ValidationError};
use crate::model::code_enum;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

code_enum! {
    /// How a message reaches the customer.
    pub enum Channel {
        Sms = "sms", "短信", "SMS";
        Email = "email", "邮件", "E-mail";
        Phone = "phone", "电话", "Phone";
    }
}

code_enum! {
    /// Why a message is sent. Service notices (maintenance, recall, appointment) are
    /// transactional and need no marketing consent; marketing does (DOMAIN.md §6).
    pub enum Purpose {
        Marketing = "marketing", "营销", "Marketing";
        ServiceNotice = "service_notice", "服务通知", "Service notice";
    }
}

impl Purpose {
    /// The purpose code of the consent ledger (`consent.purpose`) that governs this one.
    pub fn consent_purpose(self) -> &'static str {
        match self {
            Purpose::Marketing => "marketing",
            Purpose::ServiceNotice => "service",
        }
    }
}

code_enum! {
    /// Where an outbox row stands.
    pub enum OutboxStatus {
        Queued = "queued", "待发送", "Queued";
        Sending = "sending", "发送中", "Sending";
        Sent = "sent", "已发送", "Sent";
        Delivered = "delivered", "已送达", "Delivered";
        Failed = "failed", "发送失败", "Failed";
        Skipped = "skipped", "未发送", "Skipped";
    }
}

code_enum! {
    /// Why a message was not sent; shown per message on the outbox page.
    pub enum SkipReason {
        NoConsent = "no_consent", "无营销同意或已撤回", "No consent (or withdrawn)";
        Suppressed = "suppressed", "在免打扰名单中", "On the suppression list";
        DuplicateToday = "duplicate_today", "今日已发送相同内容", "Identical message already sent today";
        FrequencyCap = "frequency_cap", "超过发送频率上限", "Frequency cap reached";
        InvalidAddress = "invalid_address", "号码或邮箱无效", "Invalid number or address";
        NoTransport = "no_transport", "未配置发送通道", "No transport configured";
    }
}

code_enum! {
    /// How an address came onto the suppression list.
    pub enum SuppressionSource {
        SmsReply = "sms_reply", "短信回复退订", "SMS opt-out reply";
        EmailUnsubscribe = "email_unsubscribe", "邮件退订链接", "E-mail unsubscribe link";
        Manual = "manual", "手工添加", "Added by hand";
        Bounce = "bounce", "退信或空号", "Bounce or dead number";
    }
}

/// One row of the customer's consent ledger (`consent` table), as the rule needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEntry {
    pub purpose: String,
    /// `sms`, `email`, `phone`, or `all` for a consent that covers every channel.
    pub channel: String,
    pub granted_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// May a message of `purpose` go over `channel` at `at`, given the ledger?
///
/// Marketing needs consent for marketing on that channel (or `all`). Service notices need
/// none, but a withdrawn service consent stops them. Grants and withdrawals are events in
/// time: the last event at or before `at` decides, and a withdrawal wins from its time on
/// (it is not undone by an older grant still open in another row; at the same instant the
/// withdrawal wins). Events after `at` do not count yet.
pub fn consent_allows(
    ledger: &[ConsentEntry],
    purpose: Purpose,
    channel: Channel,
    at: DateTime<Utc>,
) -> bool {
    // (time, is_withdrawal)
    let mut events: Vec<(DateTime<Utc>, bool)> = Vec::new();
    for e in ledger {
        if e.purpose != purpose.consent_purpose()
            || !(e.channel == channel.code() || e.channel == "all")
        {
            continue;
        }
        if e.granted_at <= at {
            events.push((e.granted_at, false));
        }
        if let Some(w) = e.withdrawn_at
            && w <= at
        {
            events.push((w, true));
        }
    }
    events.sort();
    let last = events.last().map(|(_, withdrawn)| *withdrawn);
    match purpose {
        Purpose::Marketing => last == Some(false),
        Purpose::ServiceNotice => last != Some(true),
    }
}

/// The messaging part of a store's configuration (`store.settings` → `"messaging"`).
/// Missing fields take the defaults: sending 09:00–20:00 China time (UTC+8), at most 4
/// marketing messages per customer in 30 days, the store's name as SMS signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessagingSettings {
    /// Marketing may go out from this local time ("HH:MM")…
    pub send_from: String,
    /// …until before this one.
    pub send_until: String,
    /// The store's offset from UTC in minutes (China: 480).
    pub utc_offset_minutes: i32,
    /// At most this many marketing messages per customer…
    pub cap_messages: u32,
    /// …in this many days (the day of sending included).
    pub cap_days: u32,
    /// SMS signature without brackets; empty = the store's name.
    pub signature: String,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        MessagingSettings {
            send_from: "09:00".into(),
            send_until: "20:00".into(),
            utc_offset_minutes: 480,
            cap_messages: 4,
            cap_days: 30,
            signature: String::new(),
        }
    }
}

/// The store's sending window, resolved from settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    pub from: NaiveTime,
    pub until: NaiveTime,
    pub offset: FixedOffset,
}

impl MessagingSettings {
    /// Every out-of-range value, named by its field; or the resolved window.
    pub fn window(&self) -> Result<SendWindow, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let time = |field: &str, v: &str, errors: &mut Vec<ValidationError>| {
            match NaiveTime::parse_from_str(v.trim(), "%H:%M") {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.push(ValidationError::new(field, v, Rule::DateFormat));
                    None
                }
            }
        };
        let from = time("messaging.send_from", &self.send_from, &mut errors);
        let until = time("messaging.send_until", &self.send_until, &mut errors);
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            errors.push(ValidationError::new(
                "messaging.send_until",
                &self.send_until,
                Rule::OutOfRange { min: 0, max: 2359 },
            ));
        }
        let offset = FixedOffset::east_opt(self.utc_offset_minutes * 60);
        if offset.is_none() || self.utc_offset_minutes % 15 != 0 {
            errors.push(ValidationError::new(
                "messaging.utc_offset_minutes",
                self.utc_offset_minutes.to_string(),
                Rule::OutOfRange {
                    min: -720,
                    max: 840,
                },
            ));
        }
        if !(1..=100).contains(&self.cap_messages) {
            errors.push(ValidationError::new(
                "messaging.cap_messages",
                self.cap_messages.to_string(),
                Rule::OutOfRange { min: 1, max: 100 },
            ));
        }
        if !(1..=365).contains(&self.cap_days) {
            errors.push(ValidationError::new(
                "messaging.cap_days",
                self.cap_days.to_string(),
                Rule::OutOfRange { min: 1, max: 365 },
            ));
        }
        match (from, until, offset, errors.is_empty()) {
            (Some(from), Some(until), Some(offset), true) => Ok(SendWindow {
                from,
                until,
                offset,
            }),
            _ => Err(errors),
        }
    }
}

impl Default for SendWindow {
    fn default() -> Self {
        MessagingSettings::default()
            .window()
            .expect("the default settings are valid")
    }
}

impl SendWindow {
    /// When a message due at `due` may go out: `due` itself inside the window; otherwise
    /// the next opening time (the same day's if before it, else the next day's). A
    /// message outside the hours is deferred, never dropped.
    pub fn next_allowed(&self, due: DateTime<Utc>) -> DateTime<Utc> {
        let local = due.with_timezone(&self.offset);
        let t = local.time();
        if t >= self.from && t < self.until {
            return due;
        }
        let day = if t < self.from {
            local.date_naive()
        } else {
            local.date_naive() + Duration::days(1)
        };
        self.offset
            .from_local_datetime(&day.and_time(self.from))
            .single()
            .expect("a fixed offset has no gaps")
            .with_timezone(&Utc)
    }

    /// The store-local calendar day of an instant (the "day" of one-identical-per-day).
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }
}

/// The first day of the frequency-cap period that ends on `day` (both included).
pub fn cap_period_start(day: NaiveDate, cap_days: u32) -> NaiveDate {
    day - Duration::days(i64::from(cap_days.max(1)) - 1)
}

/// Is the cap reached, given how many marketing messages the customer already has in
/// the period (sent or still queued)?
pub fn cap_reached(already: u32, cap_messages: u32) -> bool {
    already >= cap_messages
}

/// The opt-out sentence appended to marketing SMS (DOMAIN.md §6).
pub const SMS_OPT_OUT: &str = "回T退订";

/// The text an SMS goes out with: the sender signature 【…】 in front unless the text
/// already carries one, and, for marketing, the opt-out "回T退订" at the end unless an
/// opt-out ("回T退订", "拒收请回复R", "退订回T") is already there.
pub fn sms_text(body: &str, signature: &str, purpose: Purpose) -> String {
    let body = body.trim();
    let mut out = String::new();
    let signed = body.starts_with('【') && body.contains('】')
        || body.ends_with('】') && body.contains('【');
    if !signed && !signature.trim().is_empty() {
        out.push('【');
        out.push_str(signature.trim());
        out.push('】');
    }
    out.push_str(body);
    if purpose == Purpose::Marketing {
        let flat: String = crate::text::to_half_width(body)
            .to_uppercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let has_opt_out = ["回T退订", "拒收请回复R", "退订回T", "回TD退订", "回R拒收"]
            .iter()
            .any(|p| flat.contains(p));
        if !has_opt_out {
            out.push_str(SMS_OPT_OUT);
        }
    }
    out
}

/// An inbound SMS reply that asks to stop messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OptOutReply {
    /// T, TD or 退订: unsubscribe.
    Unsubscribe,
    /// R: refuse (拒收).
    Refuse,
}

/// Reads an inbound reply: `T`, `TD`, `R`, `退订` (or `退订` with a trailing T/TD), any
/// case, full-width letters, surrounding spaces and punctuation tolerated. Anything else
/// (a question, "好的") is not an opt-out.
pub fn parse_reply(text: &str) -> Option<OptOutReply> {
    let t: String = crate::text::to_half_width(text)
        .chars()
        .filter(|c| !c.is_whitespace() && !is_punctuation(*c))
        .collect::<String>()
        .to_uppercase();
    match t.as_str() {
        "T" | "TD" | "退订" | "退订T" | "T退订" | "TD退订" | "退订TD" => {
            Some(OptOutReply::Unsubscribe)
        }
        "R" | "拒收" => Some(OptOutReply::Refuse),
        _ => None,
    }
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || "。，！？、；：“”‘’（）《》【】…".contains(c)
}

/// Sending attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// The first retry waits this long; each further one twice as long.
pub const RETRY_BASE_SECONDS: i64 = 60;
/// No retry waits longer than this.
pub const RETRY_MAX_SECONDS: i64 = 3600;

/// What to do after a transient failure of attempt number `attempt` (1 = the first):
/// retry at `now + 60 s × 2^(attempt−1)` (capped at an hour), or give up after
/// [`MAX_ATTEMPTS`].
pub fn after_transient_failure(attempt: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let exp = attempt.saturating_sub(1).min(20);
    let secs = (RETRY_BASE_SECONDS << exp).min(RETRY_MAX_SECONDS);
    Some(now + Duration::seconds(secs))
}

/// A plausible e-mail address: one `@`, something before, a dotted domain after, no spaces.
pub fn check_email(field: &str, s: &str) -> Result<String, ValidationError> {
    let t = s.trim();
    let ok = match t.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !t.chars().any(|c| c.is_whitespace() || c.is_control())
                && t.len() <= 254
        }
        None => false,
    };
    if ok {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(ValidationError::new(field, s, Rule::Email))
    }
}

/// Labels of the outbox in the user's language (the statuses and reasons have their own).
pub fn channel_purpose_label(channel: Channel, purpose: Purpose, lang: Lang) -> String {
    format!("{} · {}", channel.label(lang), purpose.label(lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn entry(purpose: &str, channel: &str, granted: &str, withdrawn: Option<&str>) -> ConsentEntry {
        ConsentEntry {
            purpose: purpose.into(),
            channel: channel.into(),
            granted_at: utc(granted),
            withdrawn_at: withdrawn.map(utc),
        }
    }

    #[test]
    fn marketing_needs_consent_for_the_channel() {
        let ledger = [entry("marketing", "sms", "2026-01-01T00:00:00Z", None)];
        let at = utc("2026-06-01T02:00:00Z");
        assert!(consent_allows(
            &ledger,
            Purpose::Marketing,
            Channel::Sms,
            at
        ));
        assert!(!consent_allows(
            &ledger,
            Purpose::Marketing,
            Channel::Email,
            at
        ));
        assert!(!consent_allows(&[], Purpose::Marketing, Channel::Sms, at));
        // Not yet granted at that time.
        assert!(!consent_allows(
            &ledger,
            Purpose::Marketing,
            Channel::Sms,
            utc("2025-12-31T23:59:59Z")
        ));
        // A consent for every channel.
        let all = [entry("marketing", "all", "2026-01-01T00:00:00Z", None)];
        assert!(consent_allows(&all, Purpose::Marketing, Channel::Email, at));
        // A service consent is not a marketing consent.
        let service = [entry("service", "sms", "2026-01-01T00:00:00Z", None)];
        assert!(!consent_allows(
            &service,
            Purpose::Marketing,
            Channel::Sms,
            at
        ));
    }

    #[test]
    fn withdrawal_wins_from_its_time_on() {
        let ledger = [
            entry(
                "marketing",
                "sms",
                "2026-01-01T00:00:00Z",
                Some("2026-05-01T00:00:00Z"),
            ),
            // An older open grant (another notice version) does not undo the withdrawal.
            entry("marketing", "sms", "2026-02-01T00:00:00Z", None),
        ];
        assert!(consent_allows(
            &ledger,
            Purpose::Marketing,
            Channel::Sms,
            utc("2026-04-30T23:59:59Z")
        ));
        assert!(!consent_allows(
            &ledger,
            Purpose::Marketing,
            Channel::Sms,
            utc("2026-05-01T00:00:00Z")
        ));
        // A new grant after the withdrawal counts again.
        let mut again = ledger.to_vec();
        again.push(entry("marketing", "sms", "2026-05-10T00:00:00Z", None));
        assert!(consent_allows(
            &again,
            Purpose::Marketing,
            Channel::Sms,
            utc("2026-05-10T00:00:00Z")
        ));
        // Granted and withdrawn at the same instant: withdrawn.
        let same = [entry(
            "marketing",
            "sms",
            "2026-01-01T00:00:00Z",
            Some("2026-01-01T00:00:00Z"),
        )];
        assert!(!consent_allows(
            &same,
            Purpose::Marketing,
            Channel::Sms,
            utc("2026-01-02T00:00:00Z")
        ));
    }

    #[test]
    fn service_notices_need_none_but_stop_at_a_withdrawal() {
        let at = utc("2026-06-01T02:00:00Z");
        assert!(consent_allows(
            &[],
            Purpose::ServiceNotice,
            Channel::Sms,
            at
        ));
        let withdrawn = [entry(
            "service",
            "sms",
            "2026-01-01T00:00:00Z",
            Some("2026-03-01T00:00:00Z"),
        )];
        assert!(!consent_allows(
            &withdrawn,
            Purpose::ServiceNotice,
            Channel::Sms,
            at
        ));
        assert!(consent_allows(
            &withdrawn,
            Purpose::ServiceNotice,
            Channel::Email,
            at
        ));
        // A withdrawn marketing consent does not stop a maintenance reminder.
        let marketing = [entry(
            "marketing",
            "sms",
            "2026-01-01T00:00:00Z",
            Some("2026-03-01T00:00:00Z"),
        )];
        assert!(consent_allows(
            &marketing,
            Purpose::ServiceNotice,
            Channel::Sms,
            at
        ));
    }

    #[test]
    fn quiet_hours_defer_to_the_next_nine_o_clock() {
        let w = SendWindow::default();
        // 10:00 Beijing = 02:00 UTC: inside, unchanged.
        assert_eq!(
            w.next_allowed(utc("2026-06-01T02:00:00Z")),
            utc("2026-06-01T02:00:00Z")
        );
        // 09:00 sharp is inside; 08:59 waits one minute.
        assert_eq!(
            w.next_allowed(utc("2026-06-01T01:00:00Z")),
            utc("2026-06-01T01:00:00Z")
        );
        assert_eq!(
            w.next_allowed(utc("2026-06-01T00:59:00Z")),
            utc("2026-06-01T01:00:00Z")
        );
        // 20:00 sharp is outside: next day 09:00 Beijing = 01:00 UTC the next day.
        assert_eq!(
            w.next_allowed(utc("2026-06-01T12:00:00Z")),
            utc("2026-06-02T01:00:00Z")
        );
        // 23:30 Beijing on 1 June = 15:30 UTC → 2 June 09:00 Beijing.
        assert_eq!(
            w.next_allowed(utc("2026-06-01T15:30:00Z")),
            utc("2026-06-02T01:00:00Z")
        );
        // 02:00 Beijing on 2 June = 18:00 UTC on 1 June → 2 June 09:00 Beijing (same local day).
        assert_eq!(
            w.next_allowed(utc("2026-06-01T18:00:00Z")),
            utc("2026-06-02T01:00:00Z")
        );
        // The local day of 18:00 UTC 1 June is 2 June in Beijing.
        assert_eq!(
            w.local_day(utc("2026-06-01T18:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 6, 2).expect("date")
        );
    }

    #[test]
    fn a_store_configures_its_own_hours() {
        let s = MessagingSettings {
            send_from: "10:30".into(),
            send_until: "18:00".into(),
            utc_offset_minutes: 0,
            ..MessagingSettings::default()
        };
        let w = s.window().expect("valid");
        assert_eq!(
            w.next_allowed(utc("2026-06-01T09:00:00Z")),
            utc("2026-06-01T10:30:00Z")
        );
        assert_eq!(
            w.next_allowed(utc("2026-06-01T18:00:00Z")),
            utc("2026-06-02T10:30:00Z")
        );
        let bad = MessagingSettings {
            send_from: "21:00".into(),
            send_until: "9pm".into(),
            cap_days: 0,
            ..MessagingSettings::default()
        };
        let errors = bad.window().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["messaging.send_until", "messaging.cap_days"]);
        assert_eq!(errors[0].value, "9pm");
    }

    #[test]
    fn frequency_cap_period() {
        let d = NaiveDate::from_ymd_opt(2026, 6, 30).expect("date");
        // 30 days ending 30 June start on 1 June.
        assert_eq!(
            cap_period_start(d, 30),
            NaiveDate::from_ymd_opt(2026, 6, 1).expect("date")
        );
        assert_eq!(cap_period_start(d, 1), d);
        assert!(!cap_reached(3, 4));
        assert!(cap_reached(4, 4));
    }

    #[test]
    fn sms_gets_signature_and_opt_out() {
        assert_eq!(
            sms_text("春季保养八折", "星辰4S店", Purpose::Marketing),
            "【星辰4S店】春季保养八折回T退订"
        );
        // Already signed and with an opt-out (full-width Ｔ): unchanged.
        assert_eq!(
            sms_text(
                "【星辰】春季保养八折，回Ｔ退订",
                "星辰4S店",
                Purpose::Marketing
            ),
            "【星辰】春季保养八折，回Ｔ退订"
        );
        assert_eq!(
            sms_text("春季保养八折 拒收请回复R", "星辰", Purpose::Marketing),
            "【星辰】春季保养八折 拒收请回复R"
        );
        // A service notice is signed but carries no marketing opt-out.
        assert_eq!(
            sms_text("您的爱车明天到期保养", "星辰", Purpose::ServiceNotice),
            "【星辰】您的爱车明天到期保养"
        );
    }

    #[test]
    fn opt_out_replies() {
        for t in [
            "T", "t", " TD ", "td", "Ｔ", "ＴＤ", "退订", "T。", "退订!", "r", "R", "拒收",
        ] {
            assert!(parse_reply(t).is_some(), "{t:?}");
        }
        assert_eq!(parse_reply("R"), Some(OptOutReply::Refuse));
        assert_eq!(parse_reply(" ｔｄ "), Some(OptOutReply::Unsubscribe));
        for t in ["", "好的", "TT", "谢谢", "T 明天来", "RT"] {
            assert_eq!(parse_reply(t), None, "{t:?}");
        }
    }

    #[test]
    fn back_off_doubles_and_gives_up() {
        let now = utc("2026-06-01T02:00:00Z");
        assert_eq!(
            after_transient_failure(1, now),
            Some(now + Duration::seconds(60))
        );
        assert_eq!(
            after_transient_failure(2, now),
            Some(now + Duration::seconds(120))
        );
        assert_eq!(
            after_transient_failure(4, now),
            Some(now + Duration::seconds(480))
        );
        assert_eq!(after_transient_failure(5, now), None);
    }

    #[test]
    fn emails() {
        assert_eq!(
            check_email("to", " Wang@Example.CN ").expect("ok"),
            "wang@example.cn"
        );
        for bad in ["", "wang", "wang@", "@x.cn", "a b@x.cn", "a@x", "a@@x.cn"] {
            let e = check_email("to", bad).expect_err(bad);
            assert_eq!(e.rule, Rule::Email);
        }
    }
}
