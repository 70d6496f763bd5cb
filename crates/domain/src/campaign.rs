//! Campaigns (issue 8 point 2): kinds and channels, message templates with fields rendered
//! per recipient, the seeded random control group, and the invitation → RSVP → attendance
//! steps of test-drive and event campaigns. Pure rules; the service stores the results.

use crate::error::{Lang, Rule, ValidationError};
use crate::model::code_enum;
use serde::{Deserialize, Serialize};

code_enum! {
    /// What a campaign does; sms and email are sent by the outbox, phone makes call tasks,
    /// test drives and events invite people and track their answers and attendance.
    pub enum CampaignKind {
        Sms = "sms", "短信", "SMS";
        Email = "email", "邮件", "Email";
        SmsEmail = "sms_email", "短信+邮件", "SMS + e-mail";
        Phone = "phone", "电话外呼", "Phone calls";
        TestDrive = "test_drive", "试驾活动", "Test-drive campaign";
        Event = "event", "活动邀约", "Event";
    }
}

impl CampaignKind {
    /// The channels the outbox sends on (none for calls and invitations, which become tasks
    /// and invitation records).
    pub fn message_channels(self) -> &'static [crate::messaging::Channel] {
        use crate::messaging::Channel::{Email, Sms};
        match self {
            CampaignKind::Sms => &[Sms],
            CampaignKind::Email => &[Email],
            CampaignKind::SmsEmail => &[Sms, Email],
            _ => &[],
        }
    }
    pub fn sends_sms(self) -> bool {
        self.message_channels()
            .contains(&crate::messaging::Channel::Sms)
    }
    pub fn sends_email(self) -> bool {
        self.message_channels()
            .contains(&crate::messaging::Channel::Email)
    }
    /// Test drives and events track invitation, RSVP and attendance per recipient.
    pub fn has_invitations(self) -> bool {
        matches!(self, CampaignKind::TestDrive | CampaignKind::Event)
    }
}

code_enum! {
    /// Where a recipient stands.
    pub enum RecipientStatus {
        Prepared = "prepared", "已准备", "Prepared";
        HeldOut = "held_out", "对照组（不发送）", "Control group (not contacted)";
        NoConsent = "no_consent", "无营销同意", "No marketing consent";
        Invited = "invited", "已邀约", "Invited";
        Accepted = "accepted", "已确认参加", "Accepted";
        Declined = "declined", "已婉拒", "Declined";
        Attended = "attended", "已到场", "Attended";
        NoShow = "no_show", "未到场", "No-show";
        Queued = "queued", "已进入发送队列", "Queued for sending";
        Suppressed = "suppressed", "已退订/免打扰，未发送", "Opted out (suppression list), not sent";
        DuplicateToday = "duplicate_today", "今日已发相同内容，未发送", "Identical message sent today, not sent";
        FrequencyCap = "frequency_cap", "超过频率上限，未发送", "Frequency cap reached, not sent";
        InvalidAddress = "invalid_address", "无有效号码或邮箱，未发送", "No valid number or address, not sent";
        NoTransport = "no_transport", "未配置发送通道，未发送", "No transport configured, not sent";
    }
}

/// What a person records about an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStep {
    Invite,
    Accept,
    Decline,
    Attend,
    NoShow,
}

impl InvitationStep {
    pub const ALL: &'static [InvitationStep] = &[
        InvitationStep::Invite,
        InvitationStep::Accept,
        InvitationStep::Decline,
        InvitationStep::Attend,
        InvitationStep::NoShow,
    ];
    pub fn code(self) -> &'static str {
        match self {
            InvitationStep::Invite => "invite",
            InvitationStep::Accept => "accept",
            InvitationStep::Decline => "decline",
            InvitationStep::Attend => "attend",
            InvitationStep::NoShow => "no_show",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<InvitationStep, ValidationError> {
        InvitationStep::ALL
            .iter()
            .copied()
            .find(|x| x.code() == s.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    s,
                    Rule::OneOf {
                        allowed: InvitationStep::ALL
                            .iter()
                            .map(|x| x.code().to_string())
                            .collect(),
                    },
                )
            })
    }
}

/// The status after a step, or the error naming what may come next. Invite a prepared
/// recipient; an invited one accepts or declines; someone who accepted (or was invited
/// and just came) attends or does not show; a declined one may still accept. Held-out and
/// non-consenting recipients are never invited.
pub fn next_status(
    current: RecipientStatus,
    step: InvitationStep,
) -> Result<RecipientStatus, ValidationError> {
    use InvitationStep as S;
    use RecipientStatus as R;
    let next = match (current, step) {
        (R::Prepared, S::Invite) => Some(R::Invited),
        (R::Invited, S::Invite) => Some(R::Invited),
        (R::Invited | R::Declined, S::Accept) => Some(R::Accepted),
        (R::Invited | R::Accepted, S::Decline) => Some(R::Declined),
        (R::Invited | R::Accepted | R::NoShow, S::Attend) => Some(R::Attended),
        (R::Invited | R::Accepted, S::NoShow) => Some(R::NoShow),
        _ => None,
    };
    next.ok_or_else(|| {
        let allowed: Vec<String> = InvitationStep::ALL
            .iter()
            .filter(|s| next_status_inner(current, **s))
            .map(|s| s.code().to_string())
            .collect();
        ValidationError::new("step", step.code(), Rule::OneOf { allowed })
    })
}

fn next_status_inner(current: RecipientStatus, step: InvitationStep) -> bool {
    use InvitationStep as S;
    use RecipientStatus as R;
    matches!(
        (current, step),
        (R::Prepared | R::Invited, S::Invite)
            | (R::Invited | R::Declined, S::Accept)
            | (R::Invited | R::Accepted, S::Decline)
            | (R::Invited | R::Accepted | R::NoShow, S::Attend)
            | (R::Invited | R::Accepted, S::NoShow)
    )
}

// ---- templates --------------------------------------------------------------------------------

/// The fields a template may use, with their English names (both spellings accepted).
pub const TEMPLATE_FIELDS: &[(&str, &str)] = &[
    ("姓名", "name"),
    ("车牌", "plate"),
    ("车型", "model"),
    ("到期日", "due_date"),
    ("门店", "store"),
    ("顾问", "consultant"),
];

/// One recipient's values for a template; an empty value renders as nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateValues {
    pub name: String,
    pub plate: String,
    pub model: String,
    pub due_date: String,
    pub store: String,
    pub consultant: String,
}

impl TemplateValues {
    fn get(&self, key: &str) -> Option<&str> {
        let v = match key {
            "姓名" | "name" => &self.name,
            "车牌" | "plate" => &self.plate,
            "车型" | "model" => &self.model,
            "到期日" | "due_date" => &self.due_date,
            "门店" | "store" => &self.store,
            "顾问" | "consultant" => &self.consultant,
            _ => return None,
        };
        Some(v)
    }
}

fn allowed_fields() -> Vec<String> {
    TEMPLATE_FIELDS
        .iter()
        .map(|(zh, _)| format!("{{{zh}}}"))
        .collect()
}

/// Checks a template: every `{…}` names a known field and braces are closed. The error
/// names the field (`sms_template`), the bad placeholder and the allowed ones.
pub fn check_template(field: &str, template: &str) -> Result<(), ValidationError> {
    render(field, template, &TemplateValues::default()).map(|_| ())
}

/// Fills `{姓名}`, `{车牌}`, `{车型}`, `{到期日}`, `{门店}`, `{顾问}` (or their English names).
pub fn render(field: &str, template: &str, v: &TemplateValues) -> Result<String, ValidationError> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err(ValidationError::new(
                field,
                &rest[start..],
                Rule::OneOf {
                    allowed: allowed_fields(),
                },
            ));
        };
        let key = after[..end].trim();
        match v.get(key) {
            Some(val) => out.push_str(val),
            None => {
                return Err(ValidationError::new(
                    field,
                    format!("{{{key}}}"),
                    Rule::OneOf {
                        allowed: allowed_fields(),
                    },
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ---- the control group ------------------------------------------------------------------------

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How many of `n` recipients a `pct` % control group holds: round(p × n), halves up.
pub fn control_size(n: usize, pct: f64) -> usize {
    ((n as f64) * pct / 100.0 + 0.5)
        .floor()
        .clamp(0.0, n as f64) as usize
}

/// The control flags of `ids` (in the same order): exactly [`control_size`] of them are
/// held out, chosen by a hash of (seed, id) — the same seed and ids give the same group
/// whatever order the ids come in, and a different seed another random group.
pub fn control_group(ids: &[i64], pct: f64, seed: u64) -> Vec<bool> {
    let k = control_size(ids.len(), pct);
    let mut keyed: Vec<(u64, i64, usize)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (splitmix64(seed ^ splitmix64(*id as u64)), *id, i))
        .collect();
    keyed.sort_unstable();
    let mut out = vec![false; ids.len()];
    for (_, _, i) in keyed.into_iter().take(k) {
        out[i] = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_fields_in_chinese_or_english() {
        let v = TemplateValues {
            name: "张伟".into(),
            plate: "浙A12345".into(),
            model: "速腾".into(),
            due_date: "2026-12-20".into(),
            store: "杭州店".into(),
            consultant: String::new(),
        };
        assert_eq!(
            render(
                "t",
                "【杭州店】{姓名}您好，{车牌}（{车型}）保险{to_date_missing}",
                &v
            )
            .unwrap_err()
            .value,
            "{to_date_missing}"
        );
        assert_eq!(
            render(
                "t",
                "{姓名}您好，您的{车牌}（{ model }）将于{到期日}到期。{顾问}回T退订",
                &v
            )
            .unwrap(),
            "张伟您好，您的浙A12345（速腾）将于2026-12-20到期。回T退订"
        );
        let e = check_template("sms_template", "{姓名").unwrap_err();
        assert_eq!((e.field.as_str(), e.code()), ("sms_template", "one_of"));
        assert!(check_template("x", "no fields").is_ok());
    }

    #[test]
    fn the_control_group_is_exact_and_reproducible() {
        let ids: Vec<i64> = (1..=1000).collect();
        let g = control_group(&ids, 10.0, 42);
        assert_eq!(g.iter().filter(|x| **x).count(), 100);
        assert_eq!(g, control_group(&ids, 10.0, 42), "same seed, same group");
        let mut rev = ids.clone();
        rev.reverse();
        let g_rev = control_group(&rev, 10.0, 42);
        let held: Vec<i64> = ids.iter().zip(&g).filter(|x| *x.1).map(|x| *x.0).collect();
        let mut held_rev: Vec<i64> = rev
            .iter()
            .zip(&g_rev)
            .filter(|x| *x.1)
            .map(|x| *x.0)
            .collect();
        held_rev.sort();
        assert_eq!(held, held_rev, "order does not matter");
        assert_ne!(
            g,
            control_group(&ids, 10.0, 43),
            "another seed, another group"
        );
        // round(p × N): 7 × 15% = 1.05 → 1; 10 × 25% = 2.5 → 3; 0% → 0; 3 × 50% = 1.5 → 2.
        assert_eq!(control_size(7, 15.0), 1);
        assert_eq!(control_size(10, 25.0), 3);
        assert_eq!(control_size(10, 0.0), 0);
        assert_eq!(control_size(3, 50.0), 2);
        assert!(control_group(&[], 10.0, 1).is_empty());
    }

    #[test]
    fn invitations_go_invite_rsvp_attend() {
        use InvitationStep as S;
        use RecipientStatus as R;
        assert_eq!(next_status(R::Prepared, S::Invite).unwrap(), R::Invited);
        assert_eq!(next_status(R::Invited, S::Accept).unwrap(), R::Accepted);
        assert_eq!(next_status(R::Accepted, S::Attend).unwrap(), R::Attended);
        assert_eq!(next_status(R::Invited, S::Decline).unwrap(), R::Declined);
        assert_eq!(next_status(R::Declined, S::Accept).unwrap(), R::Accepted);
        assert_eq!(next_status(R::Accepted, S::NoShow).unwrap(), R::NoShow);
        let e = next_status(R::HeldOut, S::Invite).unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("step", "invite"));
        let e = next_status(R::Prepared, S::Attend).unwrap_err();
        assert_eq!(
            e.rule,
            Rule::OneOf {
                allowed: vec!["invite".into()]
            }
        );
        assert!(CampaignKind::Event.has_invitations());
        assert!(!CampaignKind::Sms.has_invitations());
        assert!(CampaignKind::SmsEmail.sends_sms() && CampaignKind::SmsEmail.sends_email());
        assert!(!CampaignKind::Phone.sends_sms() && !CampaignKind::Sms.sends_email());
    }
}
