//! Administration (stores, users, roles, the audit log, the first administrator) and the
//! read-only lookups behind the web pages: the dashboard aggregates, the consultant
//! picker and the "today" work list.
//!
//! Who may do what: only administrators manage stores and users and read the audit log;
//! everything else here is read within the actor's scope.

use crate::{Actor, Result, ServiceError, Services};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Timelike, Utc};
use dealerbase_domain::dates::parse_dms_date;
use dealerbase_domain::model::{CustomerClass, LeadSource, Role, ScopeLevel, TaskKind};
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::web::{AuditFilter, AuditRow, LeadFunnel, StaffRow};
use dealerbase_store::{Brand, Id, Page, Store, Task, VehicleModel};
use serde::{Deserialize, Serialize};

/// A new user as typed into the administration form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUserInput {
    pub login: String,
    pub name: String,
    pub role: String,
    pub store_id: Option<Id>,
    pub password: String,
}

/// Changes to a user: display name, role, store and whether the account may sign in.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserUpdate {
    pub name: String,
    pub role: String,
    pub store_id: Option<Id>,
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StoreInput {
    pub code: String,
    pub name: String,
    pub city: String,
    pub brand_id: Option<Id>,
}

/// Audit-log filters as typed: dates are China calendar dates in any DMS format.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// Login of the staff member who acted.
    pub who: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<Id>,
    pub from: Option<String>,
    /// Inclusive.
    pub to: Option<String>,
    pub page: Option<u32>,
}

/// The numbers behind the dashboard charts, within the actor's scope.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// (class code, label, customers), largest first.
    pub customers_by_class: Vec<(String, String, i64)>,
    /// ("2026-01", work orders opened) for the last 12 months, oldest first.
    pub work_orders_by_month: Vec<(String, i64)>,
    /// Leads created in the last 90 days and how far they got.
    pub lead_funnel: LeadFunnel,
    /// (source label, leads) in the last 90 days.
    pub leads_by_source: Vec<(String, i64)>,
    /// Showroom arrivals in the last 90 days by weekday (0 = Monday) and hour, China time.
    pub traffic: Vec<Vec<i64>>,
}

/// A task on the "today" list with its customer's name and whether it is overdue.
#[derive(Debug, Clone, Serialize)]
pub struct TodayItem {
    pub task: Task,
    pub kind_label: String,
    pub customer_name: Option<String>,
    pub overdue_days: i64,
}

fn require_admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("manage users"))
    }
}

/// Start of a China calendar day as a UTC moment.
fn china_midnight(d: NaiveDate) -> DateTime<Utc> {
    let t = d.and_hms_opt(0, 0, 0).unwrap_or_default() - Duration::hours(8);
    DateTime::from_naive_utc_and_offset(t, Utc)
}

fn invalid(field: &str, value: &str, rule: Rule) -> ServiceError {
    ServiceError::invalid(ValidationError::new(field, value, rule))
}

impl Services {
    // ---- users -------------------------------------------------------------------------

    pub async fn users(&self, actor: &Actor) -> Result<Vec<StaffRow>> {
        require_admin(actor)?;
        Ok(self.db.staff_rows(actor.group_id, None).await?)
    }

    pub async fn user(&self, actor: &Actor, id: Id) -> Result<StaffRow> {
        require_admin(actor)?;
        self.db
            .staff_rows(actor.group_id, None)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(ServiceError::NotFound {
                entity: "staff",
                id: id.to_string(),
            })
    }

    pub async fn create_user(&self, actor: &Actor, input: &NewUserInput) -> Result<Id> {
        require_admin(actor)?;
        let role = Role::parse("role", &input.role).map_err(ServiceError::invalid)?;
        let id = self
            .add_user(
                actor.group_id,
                input.store_id,
                &input.login,
                &input.name,
                role,
                &input.password,
            )
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "staff",
                Some(id),
                role.code(),
                self.clock.now(),
            )
            .await?;
        Ok(id)
    }

    /// Changes a user's name, role, store and active flag. The group always keeps one
    /// active administrator; deactivating a user ends their sessions.
    pub async fn update_user(&self, actor: &Actor, id: Id, u: &UserUpdate) -> Result<()> {
        let current = self.user(actor, id).await?;
        let role = Role::parse("role", &u.role).map_err(ServiceError::invalid)?;
        let name = u.name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            return Err(invalid("name", name, Rule::TooLong { max: 40 }));
        }
        let store_id = if matches!(role, Role::Group | Role::Admin) {
            u.store_id.filter(|s| *s != 0)
        } else {
            match u.store_id.filter(|s| *s != 0) {
                Some(s) => Some(s),
                None => return Err(invalid("store_id", "", Rule::Required)),
            }
        };
        if let Some(s) = store_id {
            let store = self.db.store(s).await.map_err(|_| ServiceError::NotFound {
                entity: "store",
                id: s.to_string(),
            })?;
            if store.group_id != actor.group_id {
                return Err(ServiceError::NotFound {
                    entity: "store",
                    id: s.to_string(),
                });
            }
        }
        let loses_admin = current.role == Role::Admin.code()
            && current.active
            && (role != Role::Admin || !u.active);
        if loses_admin && self.db.count_active_admins(Some(actor.group_id)).await? <= 1 {
            return Err(ServiceError::Forbidden("remove the last administrator"));
        }
        self.db
            .update_staff(id, name, role.code(), store_id, u.active)
            .await?;
        if !u.active || role.code() != current.role || store_id != current.store_id {
            // Scope comes from role and store: a changed user signs in again.
            self.end_sessions_of(id).await?;
        }
        let detail = format!(
            "role={} store={:?} active={}",
            role.code(),
            store_id,
            u.active
        );
        self.db
            .audit(
                Some(actor.staff_id),
                "update",
                "staff",
                Some(id),
                &detail,
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// Sets a new password for a user and ends their sessions.
    pub async fn reset_password(&self, actor: &Actor, id: Id, password: &str) -> Result<()> {
        self.user(actor, id).await?;
        let hash = crate::auth::hash_password(password)?;
        self.db.set_password_hash(id, &hash).await?;
        self.end_sessions_of(id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "reset_password",
                "staff",
                Some(id),
                "",
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// Creates the administrator named by the operator (for example from
    /// `DEALERBASE_ADMIN_LOGIN` / `DEALERBASE_ADMIN_PASSWORD`) when no active administrator
    /// exists yet; with one, does nothing and returns None. Creates the group if the
    /// database is empty.
    pub async fn bootstrap_admin(&self, login: &str, password: &str) -> Result<Option<Id>> {
        if self.db.count_active_admins(None).await? > 0 {
            return Ok(None);
        }
        let group_id = match self.db.groups().await?.first() {
            Some(g) => g.id,
            None => {
                self.db
                    .create_group("dealer group", self.clock.now())
                    .await?
            }
        };
        let id = self
            .add_user(group_id, None, login, "管理员", Role::Admin, password)
            .await?;
        self.db
            .audit(
                Some(id),
                "create",
                "staff",
                Some(id),
                "bootstrap admin",
                self.clock.now(),
            )
            .await?;
        Ok(Some(id))
    }

    // ---- stores ------------------------------------------------------------------------

    /// Stores the actor may pick from: all of the group for group-wide roles, else their own.
    pub async fn stores(&self, actor: &Actor) -> Result<Vec<Store>> {
        let all = self.db.stores_of_group(actor.group_id).await?;
        Ok(match actor.role.scope_level() {
            ScopeLevel::Group => all,
            _ => all
                .into_iter()
                .filter(|s| Some(s.id) == actor.store_id)
                .collect(),
        })
    }

    pub async fn brands(&self) -> Result<Vec<Brand>> {
        Ok(self.db.brands().await?)
    }

    /// The model catalogue, for the vehicle form's picker.
    pub async fn vehicle_models(&self) -> Result<Vec<VehicleModel>> {
        Ok(self.db.vehicle_models().await?)
    }

    fn check_store_input(&self, input: &StoreInput) -> Result<(String, String, String, Id)> {
        let mut c = crate::input::Checker::default();
        let code = input.code.trim().to_uppercase();
        if code.is_empty()
            || code.len() > 16
            || !code
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.fail(ValidationError::new(
                "code",
                input.code.as_str(),
                Rule::OneOf {
                    allowed: vec!["A-Z 0-9 - _ (1–16)".into()],
                },
            ));
        }
        let name = c.required_text("name", &Some(input.name.clone()), None, 60);
        let city = c
            .text("city", &Some(input.city.clone()), None, 30)
            .unwrap_or_default();
        if input.brand_id.is_none() {
            c.fail(ValidationError::new("brand_id", "", Rule::Required));
        }
        c.finish()?;
        Ok((code, name, city, input.brand_id.unwrap_or_default()))
    }

    async fn check_brand(&self, brand_id: Id) -> Result<()> {
        if self.db.brands().await?.iter().any(|b| b.id == brand_id) {
            Ok(())
        } else {
            Err(invalid(
                "brand_id",
                &brand_id.to_string(),
                Rule::OneOf {
                    allowed: vec!["a brand of the catalogue".into()],
                },
            ))
        }
    }

    pub async fn create_store(&self, actor: &Actor, input: &StoreInput) -> Result<Id> {
        require_admin(actor)?;
        let (code, name, city, brand_id) = self.check_store_input(input)?;
        self.check_brand(brand_id).await?;
        let id = self
            .db
            .create_store_checked(
                actor.group_id,
                &code,
                &name,
                &city,
                brand_id,
                self.clock.now(),
            )
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "store",
                Some(id),
                &code,
                self.clock.now(),
            )
            .await?;
        Ok(id)
    }

    /// Renames a store or changes its city or brand; the code stays (DMS exports use it).
    pub async fn update_store(&self, actor: &Actor, id: Id, input: &StoreInput) -> Result<()> {
        require_admin(actor)?;
        let store = self.db.store(id).await?;
        if store.group_id != actor.group_id {
            return Err(ServiceError::NotFound {
                entity: "store",
                id: id.to_string(),
            });
        }
        let input = StoreInput {
            code: store.code.clone(),
            ..input.clone()
        };
        let (_, name, city, brand_id) = self.check_store_input(&input)?;
        self.check_brand(brand_id).await?;
        self.db.update_store(id, &name, &city, brand_id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "update",
                "store",
                Some(id),
                &store.code,
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    // ---- audit log ---------------------------------------------------------------------

    /// The audit log, newest first, for administrators.
    pub async fn audit_log(&self, actor: &Actor, q: &AuditQuery) -> Result<Page<AuditRow>> {
        require_admin(actor)?;
        let mut c = crate::input::Checker::default();
        let date = |c: &mut crate::input::Checker, field: &str, v: &Option<String>| match v
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => match parse_dms_date(field, s) {
                Ok(d) => Some(d),
                Err(e) => {
                    c.fail(e);
                    None
                }
            },
        };
        let from = date(&mut c, "from", &q.from);
        let to = date(&mut c, "to", &q.to);
        c.finish()?;
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let staff_id = match nonempty(&q.who) {
            None => None,
            Some(login) => match self.db.staff_by_login(&login).await? {
                Some(s) if s.group_id == actor.group_id => Some(s.id),
                // Nobody by that login: no entries, rather than every entry.
                _ => Some(-1),
            },
        };
        Ok(self
            .db
            .audit_entries(&AuditFilter {
                staff_id,
                action: nonempty(&q.action),
                entity: nonempty(&q.entity),
                entity_id: q.entity_id,
                from: from.map(china_midnight),
                until: to.and_then(|d| d.succ_opt()).map(china_midnight),
                page: q.page.unwrap_or(1),
                per_page: 50,
            })
            .await?)
    }

    pub async fn audit_vocabulary(&self, actor: &Actor) -> Result<(Vec<String>, Vec<String>)> {
        require_admin(actor)?;
        Ok(self.db.audit_vocabulary().await?)
    }

    // ---- lookups for pages -------------------------------------------------------------

    /// Sales consultants the actor may filter by: all of the group, of their store, or
    /// only themselves.
    pub async fn consultants(&self, actor: &Actor) -> Result<Vec<StaffRow>> {
        let rows = match actor.role.scope_level() {
            ScopeLevel::Group => self.db.staff_rows(actor.group_id, None).await?,
            _ => match actor.store_id {
                Some(s) => self.db.staff_rows(actor.group_id, Some(s)).await?,
                None => Vec::new(),
            },
        };
        Ok(rows
            .into_iter()
            .filter(|s| s.role == Role::SalesConsultant.code())
            .filter(|s| actor.role.scope_level() != ScopeLevel::Own || s.id == actor.staff_id)
            .collect())
    }

    /// The actor's due and overdue tasks with their customers' names.
    pub async fn today_list(&self, actor: &Actor, lang: Lang) -> Result<Vec<TodayItem>> {
        let tasks = self.today(actor).await?;
        let mut ids: Vec<Id> = tasks.iter().filter_map(|t| t.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let names = self.db.customer_names(&actor.scope(), &ids).await?;
        let today = self.clock.today();
        Ok(tasks
            .into_iter()
            .map(|task| TodayItem {
                kind_label: TaskKind::parse("kind", &task.kind)
                    .map(|k| k.label(lang).to_string())
                    .unwrap_or_else(|_| task.kind.clone()),
                customer_name: task.customer_id.and_then(|c| {
                    names
                        .iter()
                        .find(|(id, _)| *id == c)
                        .map(|(_, n)| n.clone())
                }),
                overdue_days: (today - task.due_on).num_days(),
                task,
            })
            .collect())
    }

    /// The dashboard numbers within the actor's scope.
    pub async fn dashboard(&self, actor: &Actor, lang: Lang) -> Result<Dashboard> {
        let scope = actor.scope();
        let today = self.clock.today();
        let now = self.clock.now();
        let customers_by_class = self
            .db
            .customers_by_class(&scope)
            .await?
            .into_iter()
            .map(|(code, n)| {
                let label = CustomerClass::parse("class", &code)
                    .map(|c| c.label(lang).to_string())
                    .unwrap_or_else(|_| code.clone());
                (code, label, n)
            })
            .collect();
        let first_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
            .and_then(|d| d.checked_sub_months(Months::new(11)))
            .unwrap_or(today);
        let per_day = self.db.work_orders_per_day(&scope, first_month).await?;
        let mut work_orders_by_month = Vec::new();
        let mut m = first_month;
        while m <= today {
            let key = m.format("%Y-%m").to_string();
            let n = per_day
                .iter()
                .filter(|(d, _)| d.year() == m.year() && d.month() == m.month())
                .map(|(_, n)| n)
                .sum();
            work_orders_by_month.push((key, n));
            match m.checked_add_months(Months::new(1)) {
                Some(next) => m = next,
                None => break,
            }
        }
        let since = now - Duration::days(90);
        let lead_funnel = self.db.lead_funnel(&scope, since).await?;
        let leads_by_source = self
            .db
            .leads_by_source(&scope, since)
            .await?
            .into_iter()
            .map(|(code, n)| {
                let label = LeadSource::parse("source", &code)
                    .map(|s| s.label(lang).to_string())
                    .unwrap_or(code);
                (label, n)
            })
            .collect();
        let mut traffic = vec![vec![0i64; 24]; 7];
        for t in self.db.showroom_arrivals(&scope, since, 50_000).await? {
            let local = t + Duration::hours(8);
            let day = local.weekday().num_days_from_monday() as usize;
            traffic[day][local.hour() as usize] += 1;
        }
        Ok(Dashboard {
            customers_by_class,
            work_orders_by_month,
            lead_funnel,
            leads_by_source,
            traffic,
        })
    }
}
