//! Campaign response and return (issue 8 point 4): reads a campaign's recipients, the
//! contacts it made and the recipients' visits, work orders, orders and test drives in the
//! response window, and lets `dealerbase_domain::attribution` decide. Results are stored on
//! the campaign; once the window has closed the stored results are final and are reused.

use crate::{Actor, Result, Services};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use dealerbase_domain::Lang;
use dealerbase_domain::attribution::{
    self, Event, Recipient, ResponseKind, Results, Tally, Window,
};
use dealerbase_domain::campaign::CampaignKind;
use dealerbase_domain::messaging::Channel;
use dealerbase_store::Id;
use dealerbase_store::campaigns::CampaignRow;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A campaign's results as computed at `computed_at`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignResults {
    pub campaign_id: Id,
    pub computed_at: DateTime<Utc>,
    /// See `dealerbase_domain::attribution::Results`: window, target / contacted / control
    /// tallies, uplift, incremental revenue, cost, return on spend, by channel, by kind of
    /// response and by months since the last visit.
    #[schema(value_type = Object)]
    pub results: Results,
}

/// Several campaigns added up (by channel or by segment).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Rollup {
    pub key: String,
    pub label: String,
    pub campaigns: i64,
    #[schema(value_type = Object)]
    pub target: Tally,
    #[schema(value_type = Object)]
    pub control: Tally,
    pub contacts: i64,
    pub cost_fen: i64,
    /// The sum over the campaigns that had a control group.
    pub incremental_revenue_fen: i64,
    /// Target rate minus the pooled control rate (campaigns with a control group only).
    pub uplift: Option<f64>,
    /// Incremental revenue ÷ cost, over the campaigns with a control group and a cost.
    pub return_on_spend: Option<f64>,
    #[serde(skip)]
    with_control: (Tally, Tally, i64),
}

/// One campaign in the overview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverviewRow {
    pub campaign: CampaignRow,
    pub kind_label: String,
    pub segment_name: String,
    /// None until the campaign has gone out.
    pub results: Option<CampaignResults>,
}

/// Every campaign that has gone out, with totals by channel and by segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    pub campaigns: Vec<OverviewRow>,
    pub by_channel: Vec<Rollup>,
    pub by_segment: Vec<Rollup>,
}

/// The first day of a campaign's response window (China day), or None while it has not
/// gone out: SMS / e-mail campaigns start when sent, calls and invitations when prepared;
/// never before the schedule.
pub fn window_start(c: &CampaignRow) -> Option<NaiveDate> {
    let kind = CampaignKind::parse("kind", &c.kind).ok()?;
    let started = if kind.message_channels().is_empty() {
        c.prepared_at
    } else {
        c.sent_at
    }?;
    let at = c.scheduled_at.map_or(started, |s| s.max(started));
    Some((at + Duration::hours(8)).date_naive())
}

impl Rollup {
    fn add(&mut self, r: &Results, target: Tally, contacts: i64, cost_fen: i64) {
        self.campaigns += 1;
        for (a, b) in [(&mut self.target, target), (&mut self.control, r.control)] {
            a.recipients += b.recipients;
            a.responders += b.responders;
            a.revenue_fen += b.revenue_fen;
        }
        self.contacts += contacts;
        self.cost_fen += cost_fen;
        if r.control.recipients > 0 {
            let (t, c, cost) = &mut self.with_control;
            for (a, b) in [(t, target), (c, r.control)] {
                a.recipients += b.recipients;
                a.responders += b.responders;
                a.revenue_fen += b.revenue_fen;
            }
            *cost += cost_fen;
            if target.recipients > 0 {
                let per_t = target.revenue_fen as f64 / target.recipients as f64;
                let per_c = r.control.revenue_fen as f64 / r.control.recipients as f64;
                self.incremental_revenue_fen +=
                    ((per_t - per_c) * target.recipients as f64).round() as i64;
            }
        }
    }
    fn finish(mut self) -> Rollup {
        let (t, c, cost) = self.with_control;
        self.uplift = match (t.rate(), c.rate()) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        };
        self.return_on_spend =
            (cost > 0).then(|| self.incremental_revenue_fen as f64 / cost as f64);
        self
    }
}

impl Services {
    /// A campaign's response and return; None while it has not gone out. Computed from the
    /// records unless the stored results were computed after the window closed.
    pub async fn campaign_results(&self, actor: &Actor, id: Id) -> Result<Option<CampaignResults>> {
        let c = self.campaign_for(actor, id).await?;
        self.results_of(&c).await
    }

    async fn results_of(&self, c: &CampaignRow) -> Result<Option<CampaignResults>> {
        let Some(start) = window_start(c) else {
            return Ok(None);
        };
        if let Some(stored) = self.db.marketing_results(c.id).await? {
            if let Ok(r) = serde_json::from_str::<CampaignResults>(&stored) {
                if r.results.complete && r.results.window.start == start {
                    return Ok(Some(r));
                }
            }
        }
        let window = Window {
            start,
            days: c.response_window_days.clamp(1, 365) as u32,
        };
        let members = self.db.marketing_recipient_ids(c.id).await?;
        let ids: Vec<Id> = members.iter().map(|m| m.0).collect();
        let mut contacted: HashMap<Id, Vec<Channel>> = HashMap::new();
        for (customer, channel) in self.db.marketing_contacts(c.id).await? {
            if let Ok(ch) = Channel::parse("channel", &channel) {
                contacted.entry(customer).or_default().push(ch);
            }
        }
        let last: HashMap<Id, NaiveDate> = self
            .db
            .last_purchase_days(&ids, start)
            .await?
            .into_iter()
            .collect();
        let events: Vec<Event> = self
            .db
            .response_records(&ids, start, window.end())
            .await?
            .into_iter()
            .filter_map(|r| {
                Some(Event {
                    customer_id: r.customer_id,
                    day: r.day,
                    kind: ResponseKind::parse("kind", r.kind).ok()?,
                    revenue_fen: r.revenue_fen,
                })
            })
            .collect();
        let recipients: Vec<Recipient> = members
            .iter()
            .map(|&(customer_id, control)| Recipient {
                customer_id,
                control,
                contacted: contacted.remove(&customer_id).unwrap_or_default(),
                last_visit: last.get(&customer_id).copied(),
            })
            .collect();
        let now = self.clock.now();
        let out = CampaignResults {
            campaign_id: c.id,
            computed_at: now,
            results: attribution::attribute(
                &recipients,
                &events,
                window,
                c.cost_per_contact_fen,
                self.clock.today(),
            ),
        };
        self.db
            .set_marketing_results(c.id, &serde_json::to_string(&out).unwrap_or_default(), now)
            .await?;
        Ok(Some(out))
    }

    /// Every campaign in the actor's view with its results (those gone out), and the
    /// totals by channel and by segment.
    pub async fn campaign_overview(&self, actor: &Actor, lang: Lang) -> Result<Overview> {
        let rows = self.campaigns(actor).await?;
        let mut segments: HashMap<Id, String> = HashMap::new();
        let mut by_channel: Vec<Rollup> = Vec::new();
        let mut by_segment: Vec<Rollup> = Vec::new();
        let mut campaigns = Vec::with_capacity(rows.len());
        for c in rows {
            if !segments.contains_key(&c.segment_id) {
                let name = match self.segment_for(actor, c.segment_id).await {
                    Ok(s) => s.name,
                    Err(_) => format!("#{}", c.segment_id),
                };
                segments.insert(c.segment_id, name);
            }
            let segment_name = segments[&c.segment_id].clone();
            let results = self.results_of(&c).await?;
            if let Some(r) = &results {
                let r = &r.results;
                for ch in &r.by_channel {
                    let key = ch.channel.code().to_string();
                    let i = match by_channel.iter().position(|x| x.key == key) {
                        Some(i) => i,
                        None => {
                            by_channel.push(Rollup {
                                label: ch.channel.label(lang).to_string(),
                                key,
                                ..Rollup::default()
                            });
                            by_channel.len() - 1
                        }
                    };
                    by_channel[i].add(r, ch.tally, ch.tally.recipients, ch.cost_fen);
                }
                let key = c.segment_id.to_string();
                let i = match by_segment.iter().position(|x| x.key == key) {
                    Some(i) => i,
                    None => {
                        by_segment.push(Rollup {
                            label: segment_name.clone(),
                            key,
                            ..Rollup::default()
                        });
                        by_segment.len() - 1
                    }
                };
                by_segment[i].add(r, r.target, r.contacts, r.cost_fen);
            }
            campaigns.push(OverviewRow {
                kind_label: CampaignKind::parse("kind", &c.kind)
                    .map(|k| k.label(lang).to_string())
                    .unwrap_or_else(|_| c.kind.clone()),
                segment_name,
                results,
                campaign: c,
            });
        }
        by_channel.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Overview {
            campaigns,
            by_channel: by_channel.into_iter().map(Rollup::finish).collect(),
            by_segment: by_segment.into_iter().map(Rollup::finish).collect(),
        })
    }
}
