//! Manual merge of two customers by staff: a preview of the field values that win and the
//! records that move, the merge itself (one store transaction), and the review list.
//!
//! Which value wins, field by field (the same rule as imports): a field empty on the
//! survivor is filled from the merged customer; when both have a value and they differ,
//! the value of the customer updated more recently wins. VIP is kept if either is VIP.
//! The survivor keeps its store.

use crate::import::may_import;
use crate::records::CustomerView;
use crate::{Actor, Result, ServiceError, Services};
use dealerbase_domain::mask::{mask_id, mask_mobile};
use dealerbase_domain::{Rule, ValidationError};
use dealerbase_store::import::FieldChange;
use dealerbase_store::merge::CustomerMerge;
use dealerbase_store::{Customer, CustomerFields, Id, Page};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One field of the survivor after the merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldDecision {
    pub field: String,
    /// Values masked as on the customer page.
    pub survivor_value: Option<String>,
    pub merged_value: Option<String>,
    pub result: Option<String>,
    /// survivor | merged
    pub from: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergePreview {
    pub survivor: CustomerView,
    pub merged: CustomerView,
    /// Every field whose values differ, with the winner.
    pub fields: Vec<FieldDecision>,
    /// Rows that move to the survivor, per table.
    pub moves: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeResult {
    pub merge_id: Id,
    pub survivor_id: Id,
    pub merged_id: Id,
    pub moved: BTreeMap<String, i64>,
    pub changes: Vec<FieldChange>,
}

/// A recorded merge with what it moved and changed, for review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeView {
    #[serde(flatten)]
    pub merge: CustomerMerge,
    pub moved_rows: BTreeMap<String, i64>,
    /// Values masked.
    pub changes: Vec<FieldChange>,
}

fn masked(field: &str, v: Option<String>) -> Option<String> {
    match field {
        "mobile" | "other_phones" => v.map(|m| mask_mobile(&m)),
        "id_number" => v.map(|i| mask_id(&i)),
        _ => v,
    }
}

/// The survivor's fields after the merge, and the decision for each differing field.
fn decide(survivor: &Customer, merged: &Customer) -> (CustomerFields, Vec<FieldDecision>) {
    let newer_merged = merged.updated_at > survivor.updated_at;
    let mut out = survivor.fields.clone();
    let mut decisions = Vec::new();
    macro_rules! opt {
        ($($f:ident),+) => {$(
            let s = survivor.fields.$f.clone();
            let m = merged.fields.$f.clone();
            if s != m {
                let take = m.is_some() && (s.is_none() || newer_merged);
                if take {
                    out.$f = m.clone();
                }
                decisions.push(FieldDecision {
                    field: stringify!($f).into(),
                    survivor_value: masked(stringify!($f), s.clone().map(|v| v.to_string())),
                    merged_value: masked(stringify!($f), m.clone().map(|v| v.to_string())),
                    result: masked(stringify!($f), out.$f.clone().map(|v| v.to_string())),
                    from: if take { "merged" } else { "survivor" }.into(),
                });
            }
        )+};
    }
    opt!(
        title,
        gender,
        id_type,
        id_number,
        birthday,
        mobile,
        other_phones,
        email,
        province_code,
        city_code,
        district_code,
        address,
        industry,
        occupation,
        marital_status,
        income_band,
        education,
        interests,
        source,
        key_account
    );
    if out.birthday == merged.fields.birthday && merged.fields.birthday != survivor.fields.birthday
    {
        out.lunar_birthday = merged.fields.lunar_birthday;
    }
    for (field, s, m) in [
        ("name", &survivor.fields.name, &merged.fields.name),
        ("kind", &survivor.fields.kind, &merged.fields.kind),
    ] {
        if s != m {
            let take = newer_merged && !m.is_empty();
            if take {
                if field == "name" {
                    out.name = m.clone();
                } else {
                    out.kind = m.clone();
                }
            }
            decisions.push(FieldDecision {
                field: field.into(),
                survivor_value: Some(s.clone()),
                merged_value: Some(m.clone()),
                result: Some(if take { m.clone() } else { s.clone() }),
                from: if take { "merged" } else { "survivor" }.into(),
            });
        }
    }
    if survivor.fields.vip != merged.fields.vip {
        out.vip = true;
        decisions.push(FieldDecision {
            field: "vip".into(),
            survivor_value: Some(survivor.fields.vip.to_string()),
            merged_value: Some(merged.fields.vip.to_string()),
            result: Some("true".into()),
            from: if survivor.fields.vip {
                "survivor"
            } else {
                "merged"
            }
            .into(),
        });
    }
    (out, decisions)
}

impl Services {
    async fn merge_pair(
        &self,
        actor: &Actor,
        survivor: Id,
        merged: Id,
    ) -> Result<(Customer, Customer)> {
        if !may_import(actor.role) {
            return Err(ServiceError::Forbidden("merge customers"));
        }
        if survivor == merged {
            return Err(ServiceError::invalid(ValidationError::new(
                "merged_id",
                merged.to_string(),
                Rule::OneOf {
                    allowed: vec!["another customer".into()],
                },
            )));
        }
        let s = self.db.customer(&actor.scope(), survivor).await?;
        let m = self.db.customer(&actor.scope(), merged).await?;
        for c in [&s, &m] {
            if c.merged_into.is_some() {
                return Err(ServiceError::Conflict {
                    field: "merged_into",
                    value: c.id.to_string(),
                });
            }
        }
        Ok((s, m))
    }

    /// What merging `merged` into `survivor` would do.
    pub async fn merge_preview(
        &self,
        actor: &Actor,
        survivor: Id,
        merged: Id,
    ) -> Result<MergePreview> {
        let (s, m) = self.merge_pair(actor, survivor, merged).await?;
        let (_, fields) = decide(&s, &m);
        let moves = self
            .db
            .customer_reference_counts(m.id)
            .await?
            .into_iter()
            .collect();
        Ok(MergePreview {
            survivor: CustomerView::masked(s),
            merged: CustomerView::masked(m),
            fields,
            moves,
        })
    }

    /// Merges `merged` into `survivor`: everything of the merged customer (vehicles,
    /// orders, work orders, policies, leads, contacts, tasks, consents, …) moves in one
    /// transaction; the merged customer is hidden and points at the survivor; the merge is
    /// recorded and audited.
    pub async fn merge_customers(
        &self,
        actor: &Actor,
        survivor: Id,
        merged: Id,
    ) -> Result<MergeResult> {
        let (s, m) = self.merge_pair(actor, survivor, merged).await?;
        let (fields, _) = decide(&s, &m);
        let changes = crate::import::field_changes(&s.fields, &fields);
        let consultant = s.consultant_id.or(m.consultant_id);
        let now = self.clock.now();
        let (merge_id, moved) = self
            .db
            .merge_customers(
                s.id,
                m.id,
                &fields,
                consultant,
                &changes,
                Some(actor.staff_id),
                now,
            )
            .await?;
        let moved: BTreeMap<String, i64> = moved.into_iter().collect();
        self.reclassify(s.id).await?;
        let detail = serde_json::json!({
            "merge": merge_id, "merged": m.id, "moved": moved,
            "fields": changes.iter().map(|c| c.field.clone()).collect::<Vec<_>>(),
        });
        self.db
            .audit(
                Some(actor.staff_id),
                "merge",
                "customer",
                Some(s.id),
                &detail.to_string(),
                now,
            )
            .await?;
        Ok(MergeResult {
            merge_id,
            survivor_id: s.id,
            merged_id: m.id,
            moved,
            changes: changes
                .into_iter()
                .map(|c| FieldChange {
                    old_value: masked(&c.field, c.old_value),
                    new_value: masked(&c.field, c.new_value),
                    field: c.field,
                })
                .collect(),
        })
    }

    /// Merges whose survivor the actor may see, newest first, with what they moved and
    /// changed.
    pub async fn customer_merges(&self, actor: &Actor, page: u32) -> Result<Page<MergeView>> {
        if !may_import(actor.role) {
            return Err(ServiceError::Forbidden("merge customers"));
        }
        let p = self.db.customer_merges(&actor.scope(), page, 30).await?;
        let ids: Vec<Id> = p.items.iter().map(|m| m.id).collect();
        let changes = self.db.merge_changes(&ids).await?;
        let items = p
            .items
            .into_iter()
            .map(|merge| MergeView {
                moved_rows: serde_json::from_str(&merge.moved).unwrap_or_default(),
                changes: changes
                    .iter()
                    .filter(|(id, _)| *id == merge.id)
                    .map(|(_, c)| FieldChange {
                        field: c.field.clone(),
                        old_value: masked(&c.field, c.old_value.clone()),
                        new_value: masked(&c.field, c.new_value.clone()),
                    })
                    .collect(),
                merge,
            })
            .collect();
        Ok(Page {
            items,
            page: p.page,
            per_page: p.per_page,
            has_more: p.has_more,
        })
    }

    /// The merge that took a customer away (for the merged customer's page), if the actor
    /// may see the customer.
    pub async fn merge_of(&self, actor: &Actor, merged: Id) -> Result<Option<CustomerMerge>> {
        self.db.customer(&actor.scope(), merged).await?;
        Ok(self.db.merge_of(merged).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn customer(
        id: Id,
        name: &str,
        mobile: Option<&str>,
        email: Option<&str>,
        day: u32,
    ) -> Customer {
        Customer {
            id,
            fields: CustomerFields {
                name: name.into(),
                kind: "individual".into(),
                mobile: mobile.map(str::to_string),
                email: email.map(str::to_string),
                ..Default::default()
            },
            consultant_id: None,
            class: "potential".into(),
            class_reason: String::new(),
            merged_into: None,
            last_visit_on: None,
            created_at: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("date"),
            updated_at: Utc
                .with_ymd_and_hms(2026, 1, day, 0, 0, 0)
                .single()
                .expect("date"),
        }
    }

    #[test]
    fn empty_fields_are_filled_and_the_newer_value_wins() {
        // The survivor was updated on the 2nd, the merged customer on the 5th (newer).
        let s = customer(1, "张三", Some("13800138000"), None, 2);
        let m = customer(2, "张三丰", Some("13900139000"), Some("z@example.com"), 5);
        let (f, d) = decide(&s, &m);
        assert_eq!(f.name, "张三丰");
        assert_eq!(f.mobile.as_deref(), Some("13900139000"));
        assert_eq!(f.email.as_deref(), Some("z@example.com"));
        let mobile = d.iter().find(|x| x.field == "mobile").expect("mobile");
        assert_eq!(mobile.survivor_value.as_deref(), Some("138****8000"));
        assert_eq!(mobile.from, "merged");
        // Older merged customer: only the empty email is filled.
        let m = customer(2, "张三丰", Some("13900139000"), Some("z@example.com"), 1);
        let (f, _) = decide(&s, &m);
        assert_eq!(
            (f.name.as_str(), f.mobile.as_deref(), f.email.as_deref()),
            ("张三", Some("13800138000"), Some("z@example.com"))
        );
    }
}
