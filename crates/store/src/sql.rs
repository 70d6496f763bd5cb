//! Dynamic SQL with numbered placeholders (`$1`, understood by both SQLite and PostgreSQL),
//! and the scope rules as SQL conditions.

use crate::model::Id;
use chrono::NaiveDate;
use serde::Serialize;

/// Who may see what: applied inside every query that reads customers or leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    /// Every store of the group (group staff, administrators).
    Group { group_id: Id },
    /// One store (managers, advisors, care, marketing, general manager).
    Store { store_id: Id },
    /// A consultant's own customers and leads in their store.
    Own { store_id: Id, staff_id: Id },
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    Text(String),
    Date(NaiveDate),
    Ts(chrono::DateTime<chrono::Utc>),
    F64(f64),
}

#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(s: &str) -> Sql {
        Sql {
            text: s.to_string(),
            args: Vec::new(),
        }
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    pub fn bind(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }
    pub fn bind_i64(&mut self, v: i64) -> &mut Self {
        self.bind(Arg::I64(v))
    }
    pub fn bind_text(&mut self, v: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(v.into()))
    }
    #[allow(dead_code)]
    pub fn bind_date(&mut self, v: NaiveDate) -> &mut Self {
        self.bind(Arg::Date(v))
    }

    /// ` AND <condition>` limiting rows of `customer` alias `c` to the scope.
    pub fn customer_scope(&mut self, scope: &Scope, c: &str) -> &mut Self {
        match *scope {
            Scope::Group { group_id } => {
                self.push(&format!(
                    " AND {c}.store_id IN (SELECT id FROM store WHERE group_id = "
                ));
                self.bind_i64(group_id).push(")")
            }
            Scope::Store { store_id } => {
                self.push(&format!(" AND {c}.store_id = "));
                self.bind_i64(store_id)
            }
            Scope::Own { store_id, staff_id } => {
                self.push(&format!(" AND {c}.store_id = "));
                self.bind_i64(store_id);
                self.push(&format!(" AND ({c}.consultant_id = "));
                self.bind_i64(staff_id);
                self.push(&format!(" OR EXISTS (SELECT 1 FROM lead sl WHERE sl.customer_id = {c}.id AND sl.owner_id = "));
                self.bind_i64(staff_id).push("))")
            }
        }
    }

    /// ` AND <condition>` limiting rows of `lead` alias `l` to the scope.
    pub fn lead_scope(&mut self, scope: &Scope, l: &str) -> &mut Self {
        match *scope {
            Scope::Group { group_id } => {
                self.push(&format!(
                    " AND {l}.store_id IN (SELECT id FROM store WHERE group_id = "
                ));
                self.bind_i64(group_id).push(")")
            }
            Scope::Store { store_id } => {
                self.push(&format!(" AND {l}.store_id = "));
                self.bind_i64(store_id)
            }
            Scope::Own { store_id, staff_id } => {
                self.push(&format!(" AND {l}.store_id = "));
                self.bind_i64(store_id);
                self.push(&format!(" AND {l}.owner_id = "));
                self.bind_i64(staff_id)
            }
        }
    }
}

/// Binds every [`Arg`] of a [`Sql`] to a query on either backend.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args.iter() {
            q = match a {
                $crate::sql::Arg::I64(v) => q.bind(*v),
                $crate::sql::Arg::Text(s) => q.bind(s.clone()),
                $crate::sql::Arg::Date(d) => q.bind(*d),
                $crate::sql::Arg::Ts(t) => q.bind(*t),
                $crate::sql::Arg::F64(v) => q.bind(*v),
            };
        }
        q
    }};
}
pub(crate) use bind_args;
