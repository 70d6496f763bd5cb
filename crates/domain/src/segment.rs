//! Marketing segments: a condition tree (and / or / not over leaves) on a closed catalogue
//! of fields about a customer, their cars, leads, work orders, policies and mining scores.
//!
//! A definition arrives as JSON ([`Definition`]); [`Definition::validate`] checks every
//! leaf against the [`CATALOGUE`] (field known, operator allowed for it, value of the right
//! type and range) and yields a typed [`Node`] tree, or every error at once, each naming
//! the field (`conditions[0].and[1].value`), the value and the rule. Relative operators
//! ("within the next 60 days", "age at least 40") are turned into inclusive date bounds by
//! [`date_bounds`] and [`age_bounds`] against a date the caller passes in (the clock's
//! today), so the store binds plain dates and the rule has unit tests here.

use crate::error::{Rule, ValidationError};
use crate::model::{CustomerClass, CustomerKind, LeadGrade, LeadSource, LeadStatus, PolicyKind};
use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The most leaves one definition may have (a form with more is a mistake, and the SQL
/// would grow past what a planner handles well).
pub const MAX_LEAVES: usize = 50;
/// The deepest nesting of groups.
pub const MAX_DEPTH: usize = 5;
/// The longest window (months) for windowed work-order fields.
pub const MAX_WINDOW_MONTHS: i64 = 120;
/// The largest day count for relative date operators (10 years).
pub const MAX_DAYS: i64 = 3660;

/// Which record a field is about. Customer fields are columns of the customer; the others
/// are "the customer has a record of this kind such that …".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Customer,
    Vehicle,
    Lead,
    WorkOrder,
    Policy,
    Mining,
}

impl Entity {
    pub fn label(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::*;
        match (self, lang) {
            (Entity::Customer, Zh) => "客户",
            (Entity::Customer, En) => "Customer",
            (Entity::Vehicle, Zh) => "车辆",
            (Entity::Vehicle, En) => "Vehicle",
            (Entity::Lead, Zh) => "意向",
            (Entity::Lead, En) => "Lead",
            (Entity::WorkOrder, Zh) => "工单",
            (Entity::WorkOrder, En) => "Work orders",
            (Entity::Policy, Zh) => "保单",
            (Entity::Policy, En) => "Policy",
            (Entity::Mining, Zh) => "挖掘结果",
            (Entity::Mining, En) => "Mining results",
        }
    }
}

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Date,
    Enum,
    Boolean,
    /// A store or staff id.
    Id,
}

/// Operators. Which ones a field accepts is in its [`FieldDef::ops`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Contains,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
    Between,
    Before,
    After,
    WithinNextDays,
    WithinLastDays,
    MoreThanDaysAgo,
    IsSet,
    NotSet,
    IsTrue,
    IsFalse,
}

impl Op {
    pub const ALL: &'static [Op] = &[
        Op::Eq,
        Op::Ne,
        Op::Contains,
        Op::In,
        Op::NotIn,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::Between,
        Op::Before,
        Op::After,
        Op::WithinNextDays,
        Op::WithinLastDays,
        Op::MoreThanDaysAgo,
        Op::IsSet,
        Op::NotSet,
        Op::IsTrue,
        Op::IsFalse,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Contains => "contains",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Between => "between",
            Op::Before => "before",
            Op::After => "after",
            Op::WithinNextDays => "within_next_days",
            Op::WithinLastDays => "within_last_days",
            Op::MoreThanDaysAgo => "more_than_days_ago",
            Op::IsSet => "is_set",
            Op::NotSet => "not_set",
            Op::IsTrue => "is_true",
            Op::IsFalse => "is_false",
        }
    }

    pub fn label(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::*;
        match (self, lang) {
            (Op::Eq, Zh) => "等于",
            (Op::Eq, En) => "equals",
            (Op::Ne, Zh) => "不等于",
            (Op::Ne, En) => "is not",
            (Op::Contains, Zh) => "包含",
            (Op::Contains, En) => "contains",
            (Op::In, Zh) => "属于",
            (Op::In, En) => "is one of",
            (Op::NotIn, Zh) => "不属于",
            (Op::NotIn, En) => "is none of",
            (Op::Lt, Zh) => "小于",
            (Op::Lt, En) => "less than",
            (Op::Le, Zh) => "不超过",
            (Op::Le, En) => "at most",
            (Op::Gt, Zh) => "大于",
            (Op::Gt, En) => "more than",
            (Op::Ge, Zh) => "不少于",
            (Op::Ge, En) => "at least",
            (Op::Between, Zh) => "介于",
            (Op::Between, En) => "between",
            (Op::Before, Zh) => "早于",
            (Op::Before, En) => "before",
            (Op::After, Zh) => "晚于",
            (Op::After, En) => "after",
            (Op::WithinNextDays, Zh) => "未来N天内",
            (Op::WithinNextDays, En) => "within the next N days",
            (Op::WithinLastDays, Zh) => "最近N天内",
            (Op::WithinLastDays, En) => "within the last N days",
            (Op::MoreThanDaysAgo, Zh) => "N天以前",
            (Op::MoreThanDaysAgo, En) => "more than N days ago",
            (Op::IsSet, Zh) => "有值",
            (Op::IsSet, En) => "is set",
            (Op::NotSet, Zh) => "无值",
            (Op::NotSet, En) => "is not set",
            (Op::IsTrue, Zh) => "是",
            (Op::IsTrue, En) => "yes",
            (Op::IsFalse, Zh) => "否",
            (Op::IsFalse, En) => "no",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Op, ValidationError> {
        Op::ALL
            .iter()
            .copied()
            .find(|o| o.code() == s.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    s,
                    Rule::OneOf {
                        allowed: Op::ALL.iter().map(|o| o.code().to_string()).collect(),
                    },
                )
            })
    }

    /// Operators taking no value.
    pub fn is_unary(self) -> bool {
        matches!(self, Op::IsSet | Op::NotSet | Op::IsTrue | Op::IsFalse)
    }
}

/// The closed list of fields. The store maps each to SQL; nothing else reaches the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Field {
    CustomerKind,
    CustomerClass,
    CustomerStore,
    CustomerConsultant,
    CustomerCity,
    CustomerGender,
    CustomerAge,
    CustomerSource,
    CustomerVip,
    CustomerHasMobile,
    CustomerCreated,
    ConsentMarketingSms,
    ConsentMarketingEmail,
    VehicleBrand,
    VehicleSeries,
    VehicleModel,
    VehiclePurchaseDate,
    VehicleAgeYears,
    VehicleMileage,
    VehicleNextServiceDue,
    VehicleInspectionDue,
    VehicleOwnSold,
    LeadGrade,
    LeadStatus,
    LeadSource,
    LeadCreated,
    LeadDaysSinceContact,
    LeadNextFollowUp,
    WorkOrderLastVisit,
    WorkOrderMonthsSinceVisit,
    WorkOrderVisits,
    WorkOrderSpend,
    PolicyEndDate,
    PolicyKind,
    PolicyRenewed,
    MiningSegment,
    MiningTier,
    MiningChurnRisk,
    MiningClv,
    MiningPAlive,
    MiningTradeIn,
    MiningMonetary,
    MiningCluster,
}

/// Where an enum field's choices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choices {
    None,
    CustomerKind,
    CustomerClass,
    Gender,
    LeadGrade,
    LeadStatus,
    LeadSource,
    PolicyKind,
    RfmSegment,
    Tier,
}

/// RFM segment codes of the mining snapshot (dealerbase-mining `RfmSegment`), zh, en.
pub const RFM_SEGMENTS: &[(&str, &str, &str)] = &[
    ("champions", "重要价值客户", "Champions"),
    ("potential_loyalists", "重要发展客户", "Potential loyalists"),
    ("cant_lose_them", "重要保持客户", "Can't lose them"),
    ("at_risk", "重要挽留客户", "At risk"),
    ("loyal_customers", "一般价值客户", "Loyal customers"),
    ("new_customers", "一般发展客户", "New customers"),
    ("need_attention", "一般保持客户", "Need attention"),
    ("hibernating", "一般挽留客户", "Hibernating"),
];

/// Value tiers of the mining snapshot (dealerbase-mining `Tier`).
pub const TIERS: &[(&str, &str, &str)] = &[
    ("platinum", "铂金", "Platinum"),
    ("gold", "黄金", "Gold"),
    ("silver", "白银", "Silver"),
    ("bronze", "青铜", "Bronze"),
];

impl Choices {
    /// (code, zh, en) of every choice.
    pub fn list(self) -> Vec<(&'static str, &'static str, &'static str)> {
        use crate::Lang::{En, Zh};
        macro_rules! of {
            ($t:ty) => {
                <$t>::ALL
                    .iter()
                    .map(|v| (v.code(), v.label(Zh), v.label(En)))
                    .collect()
            };
        }
        match self {
            Choices::None => Vec::new(),
            Choices::CustomerKind => of!(CustomerKind),
            Choices::CustomerClass => of!(CustomerClass),
            Choices::Gender => vec![("male", "男", "Male"), ("female", "女", "Female")],
            Choices::LeadGrade => of!(LeadGrade),
            Choices::LeadStatus => of!(LeadStatus),
            Choices::LeadSource => of!(LeadSource),
            Choices::PolicyKind => of!(PolicyKind),
            Choices::RfmSegment => RFM_SEGMENTS.to_vec(),
            Choices::Tier => TIERS.to_vec(),
        }
    }
}

/// One field of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub field: Field,
    /// Stable code used in definitions, e.g. `vehicle.brand`.
    pub code: &'static str,
    pub entity: Entity,
    pub ty: FieldType,
    pub zh: &'static str,
    pub en: &'static str,
    pub ops: &'static [Op],
    pub choices: Choices,
    /// Whole numbers only (ages, counts, months).
    pub integer: bool,
    /// The smallest and largest value a number may take.
    pub range: (f64, f64),
    /// Takes a window in months (`months`, 1–120): visits and spend in the last N months.
    pub windowed: bool,
}

impl FieldDef {
    pub fn label(&self, lang: crate::Lang) -> &'static str {
        match lang {
            crate::Lang::Zh => self.zh,
            crate::Lang::En => self.en,
        }
    }
}

const TEXT_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Contains, Op::IsSet, Op::NotSet];
const NUM_OPS: &[Op] = &[Op::Eq, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Between];
const NUM_OPS_NULL: &[Op] = &[
    Op::Eq,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::Between,
    Op::IsSet,
    Op::NotSet,
];
const DATE_OPS: &[Op] = &[
    Op::Before,
    Op::After,
    Op::Between,
    Op::WithinNextDays,
    Op::WithinLastDays,
    Op::MoreThanDaysAgo,
    Op::IsSet,
    Op::NotSet,
];
const DATE_OPS_REQUIRED: &[Op] = &[
    Op::Before,
    Op::After,
    Op::Between,
    Op::WithinNextDays,
    Op::WithinLastDays,
    Op::MoreThanDaysAgo,
];
const ENUM_OPS: &[Op] = &[Op::In, Op::NotIn];
const BOOL_OPS: &[Op] = &[Op::IsTrue, Op::IsFalse];
const ID_OPS: &[Op] = &[Op::In, Op::NotIn];
/// Whole-number fields derived from a date (ages, months since): bounds only.
const DERIVED_OPS: &[Op] = &[Op::Eq, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Between];

macro_rules! def {
    ($f:ident, $code:literal, $e:ident, $t:ident, $zh:literal, $en:literal, $ops:expr) => {
        def!(
            $f,
            $code,
            $e,
            $t,
            $zh,
            $en,
            $ops,
            None,
            false,
            (0.0, 0.0),
            false
        )
    };
    ($f:ident, $code:literal, $e:ident, $t:ident, $zh:literal, $en:literal, $ops:expr, $ch:ident) => {
        def!(
            $f,
            $code,
            $e,
            $t,
            $zh,
            $en,
            $ops,
            $ch,
            false,
            (0.0, 0.0),
            false
        )
    };
    ($f:ident, $code:literal, $e:ident, $t:ident, $zh:literal, $en:literal, $ops:expr, $ch:ident, $int:expr, $range:expr, $win:expr) => {
        FieldDef {
            field: Field::$f,
            code: $code,
            entity: Entity::$e,
            ty: FieldType::$t,
            zh: $zh,
            en: $en,
            ops: $ops,
            choices: Choices::$ch,
            integer: $int,
            range: $range,
            windowed: $win,
        }
    };
}

/// Every field a segment may use.
pub const CATALOGUE: &[FieldDef] = &[
    def!(
        CustomerKind,
        "customer.kind",
        Customer,
        Enum,
        "客户类型",
        "Customer type",
        ENUM_OPS,
        CustomerKind
    ),
    def!(
        CustomerClass,
        "customer.class",
        Customer,
        Enum,
        "客户分类",
        "Customer class",
        ENUM_OPS,
        CustomerClass
    ),
    def!(
        CustomerStore,
        "customer.store",
        Customer,
        Id,
        "所属门店",
        "Store",
        ID_OPS
    ),
    def!(
        CustomerConsultant,
        "customer.consultant",
        Customer,
        Id,
        "专属顾问",
        "Consultant",
        &[Op::In, Op::NotIn, Op::IsSet, Op::NotSet]
    ),
    def!(
        CustomerCity,
        "customer.city",
        Customer,
        Text,
        "城市代码",
        "City code",
        TEXT_OPS
    ),
    def!(
        CustomerGender,
        "customer.gender",
        Customer,
        Enum,
        "性别",
        "Gender",
        &[Op::In, Op::NotIn, Op::IsSet, Op::NotSet],
        Gender
    ),
    def!(
        CustomerAge,
        "customer.age",
        Customer,
        Number,
        "年龄",
        "Age",
        DERIVED_OPS,
        None,
        true,
        (0.0, 150.0),
        false
    ),
    def!(
        CustomerSource,
        "customer.source",
        Customer,
        Text,
        "客户来源",
        "Customer source",
        TEXT_OPS
    ),
    def!(
        CustomerVip,
        "customer.vip",
        Customer,
        Boolean,
        "VIP",
        "VIP",
        BOOL_OPS
    ),
    def!(
        CustomerHasMobile,
        "customer.has_mobile",
        Customer,
        Boolean,
        "有手机号",
        "Has a mobile",
        BOOL_OPS
    ),
    def!(
        CustomerCreated,
        "customer.created",
        Customer,
        Date,
        "建档日期",
        "Created on",
        DATE_OPS_REQUIRED
    ),
    def!(
        ConsentMarketingSms,
        "customer.consent_marketing_sms",
        Customer,
        Boolean,
        "同意营销短信",
        "Consents to marketing SMS",
        BOOL_OPS
    ),
    def!(
        ConsentMarketingEmail,
        "customer.consent_marketing_email",
        Customer,
        Boolean,
        "同意营销邮件",
        "Consents to marketing email",
        BOOL_OPS
    ),
    def!(
        VehicleBrand,
        "vehicle.brand",
        Vehicle,
        Text,
        "品牌",
        "Brand",
        &[Op::Eq, Op::Ne, Op::Contains]
    ),
    def!(
        VehicleSeries,
        "vehicle.series",
        Vehicle,
        Text,
        "车系",
        "Series",
        &[Op::Eq, Op::Ne, Op::Contains]
    ),
    def!(
        VehicleModel,
        "vehicle.model",
        Vehicle,
        Text,
        "车型（名称或代码）",
        "Model (name or code)",
        &[Op::Eq, Op::Ne, Op::Contains]
    ),
    def!(
        VehiclePurchaseDate,
        "vehicle.purchase_date",
        Vehicle,
        Date,
        "购车日期",
        "Purchase date",
        DATE_OPS
    ),
    def!(
        VehicleAgeYears,
        "vehicle.age_years",
        Vehicle,
        Number,
        "车龄（年）",
        "Vehicle age (years)",
        DERIVED_OPS,
        None,
        true,
        (0.0, 60.0),
        false
    ),
    def!(
        VehicleMileage,
        "vehicle.mileage",
        Vehicle,
        Number,
        "最新里程（公里）",
        "Latest odometer (km)",
        NUM_OPS_NULL,
        None,
        true,
        (0.0, 3_000_000.0),
        false
    ),
    def!(
        VehicleNextServiceDue,
        "vehicle.next_service_due",
        Vehicle,
        Date,
        "下次保养到期日",
        "Next maintenance due",
        DATE_OPS
    ),
    def!(
        VehicleInspectionDue,
        "vehicle.inspection_due",
        Vehicle,
        Date,
        "年检到期日",
        "Inspection due",
        DATE_OPS
    ),
    def!(
        VehicleOwnSold,
        "vehicle.own_sold",
        Vehicle,
        Boolean,
        "本店销售",
        "Sold by us",
        BOOL_OPS
    ),
    def!(
        LeadGrade,
        "lead.grade",
        Lead,
        Enum,
        "意向级别",
        "Lead grade",
        ENUM_OPS,
        LeadGrade
    ),
    def!(
        LeadStatus,
        "lead.status",
        Lead,
        Enum,
        "意向状态",
        "Lead status",
        ENUM_OPS,
        LeadStatus
    ),
    def!(
        LeadSource,
        "lead.source",
        Lead,
        Enum,
        "意向来源",
        "Lead source",
        ENUM_OPS,
        LeadSource
    ),
    def!(
        LeadCreated,
        "lead.created",
        Lead,
        Date,
        "意向登记日期",
        "Lead created on",
        DATE_OPS_REQUIRED
    ),
    def!(
        LeadDaysSinceContact,
        "lead.days_since_contact",
        Lead,
        Number,
        "距上次联系天数",
        "Days since last contact",
        &[Op::Ge, Op::Gt],
        None,
        true,
        (0.0, MAX_DAYS as f64),
        false
    ),
    def!(
        LeadNextFollowUp,
        "lead.next_follow_up",
        Lead,
        Date,
        "下次跟进日期",
        "Next follow-up",
        DATE_OPS
    ),
    def!(
        WorkOrderLastVisit,
        "work_order.last_visit",
        WorkOrder,
        Date,
        "最近进厂日期",
        "Last service visit",
        &[
            Op::Before,
            Op::After,
            Op::Between,
            Op::WithinLastDays,
            Op::MoreThanDaysAgo,
            Op::IsSet,
            Op::NotSet
        ]
    ),
    def!(
        WorkOrderMonthsSinceVisit,
        "work_order.months_since_visit",
        WorkOrder,
        Number,
        "距最近进厂月数",
        "Months since last visit",
        DERIVED_OPS,
        None,
        true,
        (0.0, 600.0),
        false
    ),
    def!(
        WorkOrderVisits,
        "work_order.visits",
        WorkOrder,
        Number,
        "近N个月进厂次数",
        "Visits in the last N months",
        NUM_OPS,
        None,
        true,
        (0.0, 10_000.0),
        true
    ),
    def!(
        WorkOrderSpend,
        "work_order.spend",
        WorkOrder,
        Number,
        "近N个月消费（元）",
        "Spend in the last N months (yuan)",
        NUM_OPS,
        None,
        false,
        (0.0, 100_000_000.0),
        true
    ),
    def!(
        PolicyEndDate,
        "policy.end_date",
        Policy,
        Date,
        "保险到期日",
        "Insurance expiry",
        DATE_OPS_REQUIRED
    ),
    def!(
        PolicyKind,
        "policy.kind",
        Policy,
        Enum,
        "险种",
        "Policy kind",
        ENUM_OPS,
        PolicyKind
    ),
    def!(
        PolicyRenewed,
        "policy.renewed",
        Policy,
        Boolean,
        "已续保",
        "Renewed",
        BOOL_OPS
    ),
    def!(
        MiningSegment,
        "mining.segment",
        Mining,
        Enum,
        "RFM分群",
        "RFM segment",
        ENUM_OPS,
        RfmSegment
    ),
    def!(
        MiningTier,
        "mining.tier",
        Mining,
        Enum,
        "价值等级",
        "Value tier",
        ENUM_OPS,
        Tier
    ),
    def!(
        MiningChurnRisk,
        "mining.churn_risk",
        Mining,
        Number,
        "流失风险（%）",
        "Churn risk (%)",
        NUM_OPS,
        None,
        false,
        (0.0, 100.0),
        false
    ),
    def!(
        MiningClv,
        "mining.clv",
        Mining,
        Number,
        "客户终身价值（元）",
        "CLV (yuan)",
        NUM_OPS_NULL,
        None,
        false,
        (0.0, 100_000_000.0),
        false
    ),
    def!(
        MiningPAlive,
        "mining.p_alive",
        Mining,
        Number,
        "活跃概率（%）",
        "P(alive) (%)",
        NUM_OPS_NULL,
        None,
        false,
        (0.0, 100.0),
        false
    ),
    def!(
        MiningTradeIn,
        "mining.trade_in",
        Mining,
        Number,
        "置换倾向（%）",
        "Trade-in propensity (%)",
        NUM_OPS,
        None,
        false,
        (0.0, 100.0),
        false
    ),
    def!(
        MiningMonetary,
        "mining.monetary",
        Mining,
        Number,
        "累计消费（元）",
        "Revenue to date (yuan)",
        NUM_OPS,
        None,
        false,
        (0.0, 100_000_000.0),
        false
    ),
    def!(
        MiningCluster,
        "mining.cluster",
        Mining,
        Number,
        "聚类细分群（k-means，1 为最大群）",
        "k-means cluster (1 = the largest)",
        NUM_OPS_NULL,
        None,
        true,
        (1.0, 50.0),
        false
    ),
];

pub fn field_def(code: &str) -> Option<&'static FieldDef> {
    CATALOGUE.iter().find(|d| d.code == code.trim())
}

pub fn def_of(field: Field) -> &'static FieldDef {
    CATALOGUE
        .iter()
        .find(|d| d.field == field)
        .expect("every field is in the catalogue")
}

// ---- definitions as sent -----------------------------------------------------------------

/// A leaf's value as sent: a number, a text, a boolean or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawValue {
    Bool(bool),
    Num(f64),
    Text(String),
    List(Vec<RawValue>),
}

impl RawValue {
    fn shown(&self) -> String {
        match self {
            RawValue::Bool(b) => b.to_string(),
            RawValue::Num(n) => fmt_num(*n),
            RawValue::Text(s) => s.clone(),
            RawValue::List(v) => v.iter().map(|x| x.shown()).collect::<Vec<_>>().join(","),
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self {
            RawValue::Num(n) => Some(*n),
            RawValue::Text(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
            _ => None,
        }
    }
    fn items(&self) -> Vec<RawValue> {
        match self {
            RawValue::List(v) => v.clone(),
            RawValue::Text(s) if s.contains(',') => s
                .split(',')
                .map(|p| RawValue::Text(p.trim().to_string()))
                .filter(|p| !matches!(p, RawValue::Text(t) if t.is_empty()))
                .collect(),
            other => vec![other.clone()],
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// One condition as sent: `{"field": "vehicle.brand", "op": "eq", "value": "大众"}`;
/// windowed fields also take `"months"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawLeaf {
    pub field: String,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<i64>,
}

/// A condition tree as sent: `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}` or a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    And { and: Vec<Condition> },
    Or { or: Vec<Condition> },
    Not { not: Box<Condition> },
    Leaf(RawLeaf),
}

/// A segment definition: all of `conditions` must hold (an empty list is everyone in scope).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

// ---- validated tree -------------------------------------------------------------------------

/// A validated leaf's argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    None,
    Text(String),
    Texts(Vec<String>),
    Ids(Vec<i64>),
    Num(f64),
    Range(f64, f64),
    Date(NaiveDate),
    Dates(NaiveDate, NaiveDate),
    Days(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub field: Field,
    pub op: Op,
    pub arg: Arg,
    /// Window of windowed fields, in months.
    pub months: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Leaf),
}

impl Node {
    pub fn leaves(&self) -> Vec<&Leaf> {
        let mut out = Vec::new();
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a Leaf>) {
            match n {
                Node::And(v) | Node::Or(v) => v.iter().for_each(|c| walk(c, out)),
                Node::Not(c) => walk(c, out),
                Node::Leaf(l) => out.push(l),
            }
        }
        walk(self, &mut out);
        out
    }
}

impl Definition {
    /// Checks every leaf; returns the typed tree (an `And` of the top-level conditions) or
    /// every error found.
    pub fn validate(&self) -> Result<Node, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let mut leaves = 0usize;
        let mut nodes = Vec::new();
        for (i, c) in self.conditions.iter().enumerate() {
            if let Some(n) = check(c, &format!("conditions[{i}]"), 1, &mut leaves, &mut errors) {
                nodes.push(n);
            }
        }
        if leaves > MAX_LEAVES {
            errors.push(ValidationError::new(
                "conditions",
                leaves.to_string(),
                Rule::OutOfRange {
                    min: 0,
                    max: MAX_LEAVES as i64,
                },
            ));
        }
        if errors.is_empty() {
            Ok(Node::And(nodes))
        } else {
            Err(errors)
        }
    }
}

fn check(
    c: &Condition,
    path: &str,
    depth: usize,
    leaves: &mut usize,
    errors: &mut Vec<ValidationError>,
) -> Option<Node> {
    if depth > MAX_DEPTH {
        errors.push(ValidationError::new(
            path,
            depth.to_string(),
            Rule::OutOfRange {
                min: 1,
                max: MAX_DEPTH as i64,
            },
        ));
        return None;
    }
    match c {
        Condition::And { and } => group(and, path, "and", depth, leaves, errors).map(Node::And),
        Condition::Or { or } => group(or, path, "or", depth, leaves, errors).map(Node::Or),
        Condition::Not { not } => check(not, &format!("{path}.not"), depth + 1, leaves, errors)
            .map(|n| Node::Not(Box::new(n))),
        Condition::Leaf(l) => {
            *leaves += 1;
            match check_leaf(l, path) {
                Ok(leaf) => Some(Node::Leaf(leaf)),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        }
    }
}

fn group(
    v: &[Condition],
    path: &str,
    key: &str,
    depth: usize,
    leaves: &mut usize,
    errors: &mut Vec<ValidationError>,
) -> Option<Vec<Node>> {
    if v.is_empty() {
        errors.push(ValidationError::new(
            format!("{path}.{key}"),
            "",
            Rule::Required,
        ));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, c) in v.iter().enumerate() {
        match check(c, &format!("{path}.{key}[{i}]"), depth + 1, leaves, errors) {
            Some(n) => out.push(n),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn check_leaf(l: &RawLeaf, path: &str) -> Result<Leaf, ValidationError> {
    let def = field_def(&l.field).ok_or_else(|| {
        ValidationError::new(
            format!("{path}.field"),
            &l.field,
            Rule::OneOf {
                allowed: CATALOGUE.iter().map(|d| d.code.to_string()).collect(),
            },
        )
    })?;
    let op_field = format!("{path}.op");
    let op = Op::parse(&op_field, &l.op)?;
    if !def.ops.contains(&op) {
        return Err(ValidationError::new(
            op_field,
            &l.op,
            Rule::OneOf {
                allowed: def.ops.iter().map(|o| o.code().to_string()).collect(),
            },
        ));
    }
    let vf = format!("{path}.value");
    let months = if def.windowed {
        let m = l.months.unwrap_or(12);
        if !(1..=MAX_WINDOW_MONTHS).contains(&m) {
            return Err(ValidationError::new(
                format!("{path}.months"),
                m.to_string(),
                Rule::OutOfRange {
                    min: 1,
                    max: MAX_WINDOW_MONTHS,
                },
            ));
        }
        Some(m as u32)
    } else {
        None
    };
    if op.is_unary() {
        return Ok(Leaf {
            field: def.field,
            op,
            arg: Arg::None,
            months,
        });
    }
    let Some(raw) = l.value.as_ref().filter(|v| !v.shown().trim().is_empty()) else {
        return Err(ValidationError::new(vf, "", Rule::Required));
    };
    let shown = raw.shown();
    let arg = match (op, def.ty) {
        (Op::WithinNextDays | Op::WithinLastDays | Op::MoreThanDaysAgo, _) => {
            let n = raw
                .as_f64()
                .filter(|n| n.fract() == 0.0)
                .ok_or_else(|| ValidationError::new(&vf, &shown, Rule::Number))?;
            if !(0.0..=MAX_DAYS as f64).contains(&n) {
                return Err(ValidationError::new(
                    vf,
                    shown,
                    Rule::OutOfRange {
                        min: 0,
                        max: MAX_DAYS,
                    },
                ));
            }
            Arg::Days(n as i64)
        }
        (_, FieldType::Text) => {
            let t = crate::text::normalize(&shown);
            if t.chars().count() > 100 {
                return Err(ValidationError::new(vf, shown, Rule::TooLong { max: 100 }));
            }
            Arg::Text(t)
        }
        (_, FieldType::Enum) => {
            let allowed = def.choices.list();
            let mut codes = Vec::new();
            for item in raw.items() {
                let s = item.shown();
                let t = s.trim();
                let found = allowed
                    .iter()
                    .find(|(c, zh, en)| *c == t || *zh == t || en.eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        ValidationError::new(
                            &vf,
                            &s,
                            Rule::OneOf {
                                allowed: allowed.iter().map(|c| c.0.to_string()).collect(),
                            },
                        )
                    })?;
                if !codes.contains(&found.0.to_string()) {
                    codes.push(found.0.to_string());
                }
            }
            if codes.is_empty() {
                return Err(ValidationError::new(vf, shown, Rule::Required));
            }
            Arg::Texts(codes)
        }
        (_, FieldType::Id) => {
            let mut ids = Vec::new();
            for item in raw.items() {
                let id = item
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && *n >= 1.0)
                    .ok_or_else(|| ValidationError::new(&vf, item.shown(), Rule::Number))?;
                ids.push(id as i64);
            }
            if ids.is_empty() {
                return Err(ValidationError::new(vf, shown, Rule::Required));
            }
            Arg::Ids(ids)
        }
        (Op::Between, FieldType::Date) => {
            let items = raw.items();
            let [a, b] = items.as_slice() else {
                return Err(ValidationError::new(vf, shown, Rule::DateFormat));
            };
            let a = parse_date(&vf, &a.shown())?;
            let b = parse_date(&vf, &b.shown())?;
            if b < a {
                return Err(ValidationError::new(vf, shown, Rule::DateFormat));
            }
            Arg::Dates(a, b)
        }
        (_, FieldType::Date) => Arg::Date(parse_date(&vf, &shown)?),
        (Op::Between, FieldType::Number) => {
            let items = raw.items();
            let [a, b] = items.as_slice() else {
                return Err(ValidationError::new(vf, shown, Rule::Number));
            };
            let a = number(def, &vf, a)?;
            let b = number(def, &vf, b)?;
            if b < a {
                return Err(ValidationError::new(
                    vf,
                    shown,
                    Rule::OutOfRange {
                        min: a as i64,
                        max: def.range.1 as i64,
                    },
                ));
            }
            Arg::Range(a, b)
        }
        (_, FieldType::Number) => Arg::Num(number(def, &vf, raw)?),
        (_, FieldType::Boolean) => Arg::None,
    };
    Ok(Leaf {
        field: def.field,
        op,
        arg,
        months,
    })
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ValidationError> {
    crate::dates::parse_dms_date(field, s.trim())
        .map_err(|_| ValidationError::new(field, s, Rule::DateFormat))
}

fn number(def: &FieldDef, field: &str, v: &RawValue) -> Result<f64, ValidationError> {
    let n = v
        .as_f64()
        .filter(|n| !def.integer || n.fract() == 0.0)
        .ok_or_else(|| ValidationError::new(field, v.shown(), Rule::Number))?;
    if n < def.range.0 || n > def.range.1 {
        return Err(ValidationError::new(
            field,
            v.shown(),
            Rule::OutOfRange {
                min: def.range.0 as i64,
                max: def.range.1 as i64,
            },
        ));
    }
    Ok(n)
}

// ---- bounds -----------------------------------------------------------------------------------

/// Inclusive date bounds; `None` is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateBounds {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

fn minus_days(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_sub_days(Days::new(n.max(0) as u64)).unwrap_or(d)
}

fn plus_days(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_add_days(Days::new(n.max(0) as u64)).unwrap_or(d)
}

/// The dates a date operator accepts, as inclusive bounds: `before D` is up to D−1,
/// `after D` from D+1, `between [A, B]` is A..=B, `within the next N days` today..=today+N,
/// `within the last N days` today−N..=today, `more than N days ago` up to today−N−1.
/// `None` for the operators that are not bounds (is set / not set).
pub fn date_bounds(op: Op, arg: &Arg, today: NaiveDate) -> Option<DateBounds> {
    let b = |from, to| Some(DateBounds { from, to });
    match (op, arg) {
        (Op::Before, Arg::Date(d)) => b(None, Some(minus_days(*d, 1))),
        (Op::After, Arg::Date(d)) => b(Some(plus_days(*d, 1)), None),
        (Op::Between, Arg::Dates(a, c)) => b(Some(*a), Some(*c)),
        (Op::WithinNextDays, Arg::Days(n)) => b(Some(today), Some(plus_days(today, *n))),
        (Op::WithinLastDays, Arg::Days(n)) => b(Some(minus_days(today, *n)), Some(today)),
        (Op::MoreThanDaysAgo, Arg::Days(n)) => b(None, Some(minus_days(today, n + 1))),
        _ => None,
    }
}

/// Inclusive whole-number bounds of a number operator on an integer field.
pub fn int_bounds(op: Op, arg: &Arg) -> Option<(Option<i64>, Option<i64>)> {
    match (op, arg) {
        (Op::Eq, Arg::Num(n)) => Some((Some(*n as i64), Some(*n as i64))),
        (Op::Ge, Arg::Num(n)) => Some((Some(*n as i64), None)),
        (Op::Gt, Arg::Num(n)) => Some((Some(*n as i64 + 1), None)),
        (Op::Le, Arg::Num(n)) => Some((None, Some(*n as i64))),
        (Op::Lt, Arg::Num(n)) => Some((None, Some(*n as i64 - 1))),
        (Op::Between, Arg::Range(a, b)) => Some((Some(*a as i64), Some(*b as i64))),
        _ => None,
    }
}

/// Whole units (years or months) between a past date and today, as a person counts an age:
/// the dates whose age is within `lo..=hi` units. An age of at least `lo` means the date is
/// on or before today − lo units; at most `hi` means after today − (hi + 1) units.
pub fn age_bounds(
    lo: Option<i64>,
    hi: Option<i64>,
    today: NaiveDate,
    unit_months: u32,
) -> DateBounds {
    let back = |n: i64| -> NaiveDate {
        today
            .checked_sub_months(Months::new((n.max(0) as u32).saturating_mul(unit_months)))
            .unwrap_or(NaiveDate::MIN)
    };
    DateBounds {
        to: lo.map(back),
        from: hi.map(|h| plus_days(back(h + 1), 1)),
    }
}

impl Definition {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The children of the group at `path` ("" is the top level, "1.0" the first child of
    /// the second condition); a NOT is a group of its one child.
    fn group_mut(&mut self, path: &str) -> Option<&mut Vec<Condition>> {
        let mut cur = &mut self.conditions;
        if path.is_empty() {
            return Some(cur);
        }
        for part in path.split('.') {
            let i: usize = part.parse().ok()?;
            cur = match cur.get_mut(i)? {
                Condition::And { and } => and,
                Condition::Or { or } => or,
                Condition::Not { .. } | Condition::Leaf(_) => return None,
            };
        }
        Some(cur)
    }

    /// Adds a condition to the group at `path` (how the no-script builder page edits the
    /// tree); false when there is no group there.
    pub fn add_at(&mut self, path: &str, c: Condition) -> bool {
        match self.group_mut(path) {
            Some(g) => {
                g.push(c);
                true
            }
            None => false,
        }
    }

    /// Removes the node at `path` ("0", "1.2"); a group left empty goes too. False when
    /// there is no node there.
    pub fn remove_at(&mut self, path: &str) -> bool {
        let (parent, last) = match path.rsplit_once('.') {
            Some((p, l)) => (p, l),
            None => ("", path),
        };
        let Ok(i) = last.parse::<usize>() else {
            return false;
        };
        let removed = match self.group_mut(parent) {
            Some(g) if i < g.len() => {
                g.remove(i);
                g.is_empty()
            }
            _ => return false,
        };
        if removed && !parent.is_empty() {
            self.remove_at(parent);
        }
        true
    }

    /// Every node in display order: (path, depth, node). Groups come before their children.
    pub fn rows(&self) -> Vec<(String, usize, &Condition)> {
        fn walk<'a>(
            v: &'a [Condition],
            prefix: &str,
            depth: usize,
            out: &mut Vec<(String, usize, &'a Condition)>,
        ) {
            for (i, c) in v.iter().enumerate() {
                let path = if prefix.is_empty() {
                    i.to_string()
                } else {
                    format!("{prefix}.{i}")
                };
                out.push((path.clone(), depth, c));
                match c {
                    Condition::And { and } => walk(and, &path, depth + 1, out),
                    Condition::Or { or } => walk(or, &path, depth + 1, out),
                    Condition::Not { not } => walk(
                        std::slice::from_ref(not.as_ref()),
                        &format!("{path}!"),
                        depth + 1,
                        out,
                    ),
                    Condition::Leaf(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.conditions, "", 0, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn leaf(field: &str, op: &str, value: Option<RawValue>) -> Condition {
        Condition::Leaf(RawLeaf {
            field: field.into(),
            op: op.into(),
            value,
            months: None,
        })
    }

    fn text(s: &str) -> Option<RawValue> {
        Some(RawValue::Text(s.into()))
    }

    #[test]
    fn catalogue_codes_are_unique_and_every_field_is_listed() {
        let mut codes: Vec<_> = CATALOGUE.iter().map(|d| d.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CATALOGUE.len());
        for d in CATALOGUE {
            assert_eq!(def_of(d.field).code, d.code);
            assert!(!d.ops.is_empty());
            if d.ty == FieldType::Enum {
                assert!(!d.choices.list().is_empty(), "{}", d.code);
            }
        }
    }

    #[test]
    fn a_valid_tree_becomes_typed_nodes() {
        let def = Definition {
            conditions: vec![
                leaf(
                    "lead.grade",
                    "in",
                    Some(RawValue::List(vec![
                        RawValue::Text("H".into()),
                        RawValue::Text("A级(15天内)".into()),
                    ])),
                ),
                Condition::Or {
                    or: vec![
                        leaf(
                            "policy.end_date",
                            "within_next_days",
                            Some(RawValue::Num(60.0)),
                        ),
                        Condition::Not {
                            not: Box::new(leaf("customer.vip", "is_true", None)),
                        },
                    ],
                },
            ],
        };
        let n = def.validate().expect("valid");
        let Node::And(top) = &n else { panic!() };
        assert_eq!(top.len(), 2);
        assert_eq!(
            top[0],
            Node::Leaf(Leaf {
                field: Field::LeadGrade,
                op: Op::In,
                arg: Arg::Texts(vec!["H".into(), "A".into()]),
                months: None
            })
        );
        assert_eq!(n.leaves().len(), 3);
    }

    #[test]
    fn errors_name_field_value_and_rule_all_at_once() {
        let def = Definition {
            conditions: vec![
                leaf("customer.shoe_size", "eq", text("42")),
                leaf("customer.kind", "lt", text("individual")),
                leaf("lead.grade", "in", text("Z")),
                leaf("customer.age", "ge", text("forty")),
                leaf("mining.churn_risk", "ge", Some(RawValue::Num(150.0))),
                leaf("policy.end_date", "before", text("2026-13-45")),
                Condition::And { and: vec![] },
                leaf("vehicle.brand", "eq", None),
                Condition::Leaf(RawLeaf {
                    field: "work_order.visits".into(),
                    op: "ge".into(),
                    value: Some(RawValue::Num(2.0)),
                    months: Some(0),
                }),
            ],
        };
        let errs = def.validate().unwrap_err();
        let got: Vec<(String, String, &str)> = errs
            .iter()
            .map(|e| (e.field.clone(), e.value.clone(), e.code()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "conditions[0].field".into(),
                    "customer.shoe_size".into(),
                    "one_of"
                ),
                ("conditions[1].op".into(), "lt".into(), "one_of"),
                ("conditions[2].value".into(), "Z".into(), "one_of"),
                ("conditions[3].value".into(), "forty".into(), "number"),
                ("conditions[4].value".into(), "150".into(), "out_of_range"),
                (
                    "conditions[5].value".into(),
                    "2026-13-45".into(),
                    "date_format"
                ),
                ("conditions[6].and".into(), "".into(), "required"),
                ("conditions[7].value".into(), "".into(), "required"),
                ("conditions[8].months".into(), "0".into(), "out_of_range"),
            ]
        );
    }

    #[test]
    fn too_deep_or_too_many_leaves_is_refused() {
        let mut c = leaf("customer.vip", "is_true", None);
        for _ in 0..MAX_DEPTH {
            c = Condition::Not { not: Box::new(c) };
        }
        let e = Definition {
            conditions: vec![c],
        }
        .validate()
        .unwrap_err();
        assert_eq!(e[0].code(), "out_of_range");
        let many = Definition {
            conditions: (0..=MAX_LEAVES)
                .map(|_| leaf("customer.vip", "is_true", None))
                .collect(),
        };
        let e = many.validate().unwrap_err();
        assert_eq!(e[0].field, "conditions");
        assert_eq!(e[0].value, "51");
    }

    #[test]
    fn date_operators_become_inclusive_bounds() {
        let today = d("2026-11-23");
        let b = |op, arg| date_bounds(op, &arg, today).unwrap();
        assert_eq!(
            b(Op::Before, Arg::Date(d("2026-01-01"))),
            DateBounds {
                from: None,
                to: Some(d("2025-12-31"))
            }
        );
        assert_eq!(
            b(Op::After, Arg::Date(d("2026-01-01"))),
            DateBounds {
                from: Some(d("2026-01-02")),
                to: None
            }
        );
        // 23 Nov + 60 days = 22 Jan (7 days left in Nov, 31 in Dec, 22 in Jan).
        assert_eq!(
            b(Op::WithinNextDays, Arg::Days(60)),
            DateBounds {
                from: Some(today),
                to: Some(d("2027-01-22"))
            }
        );
        assert_eq!(
            b(Op::WithinLastDays, Arg::Days(30)),
            DateBounds {
                from: Some(d("2026-10-24")),
                to: Some(today)
            }
        );
        // More than 365 days ago: on or before 2025-11-22.
        assert_eq!(
            b(Op::MoreThanDaysAgo, Arg::Days(365)),
            DateBounds {
                from: None,
                to: Some(d("2025-11-22"))
            }
        );
        assert_eq!(date_bounds(Op::IsSet, &Arg::None, today), None);
    }

    #[test]
    fn ages_in_whole_years_and_months() {
        let today = d("2026-11-23");
        // Aged 40 to 49: born 1976-11-24 ..= 1986-11-23.
        let (lo, hi) = int_bounds(Op::Between, &Arg::Range(40.0, 49.0)).unwrap();
        assert_eq!(
            age_bounds(lo, hi, today, 12),
            DateBounds {
                from: Some(d("1976-11-24")),
                to: Some(d("1986-11-23"))
            }
        );
        // More than 6 months since: at least 7 whole months, on or before 2026-04-23.
        let (lo, hi) = int_bounds(Op::Gt, &Arg::Num(6.0)).unwrap();
        assert_eq!(
            age_bounds(lo, hi, today, 1),
            DateBounds {
                from: None,
                to: Some(d("2026-04-23"))
            }
        );
        // Less than 3 years old: after 2023-11-23.
        let (lo, hi) = int_bounds(Op::Lt, &Arg::Num(3.0)).unwrap();
        assert_eq!(
            age_bounds(lo, hi, today, 12),
            DateBounds {
                from: Some(d("2023-11-24")),
                to: None
            }
        );
    }

    #[test]
    fn the_builder_adds_and_removes_nodes_by_path() {
        let mut d = Definition::default();
        assert!(d.add_at("", leaf("customer.vip", "is_true", None)));
        assert!(d.add_at(
            "",
            Condition::Or {
                or: vec![leaf("lead.grade", "in", text("H"))]
            }
        ));
        assert!(d.add_at("1", leaf("lead.grade", "in", text("A"))));
        assert!(
            !d.add_at("0", leaf("lead.grade", "in", text("A"))),
            "a leaf is no group"
        );
        assert!(!d.add_at("7", leaf("lead.grade", "in", text("A"))));
        let paths: Vec<(String, usize)> = d.rows().into_iter().map(|(p, n, _)| (p, n)).collect();
        assert_eq!(
            paths,
            vec![
                ("0".into(), 0),
                ("1".into(), 0),
                ("1.0".into(), 1),
                ("1.1".into(), 1)
            ]
        );
        assert!(d.remove_at("1.0"));
        assert!(d.remove_at("1.0"), "the group's last child");
        assert_eq!(d.conditions.len(), 1, "the emptied group went too");
        assert!(!d.remove_at("5"));
        assert!(d.remove_at("0"));
        assert!(d.is_empty());
    }

    #[test]
    fn a_definition_round_trips_through_serde_shapes() {
        let def = Definition {
            conditions: vec![Condition::Or {
                or: vec![leaf("customer.city", "contains", text("杭"))],
            }],
        };
        assert!(!def.is_empty());
        assert!(Definition::default().validate().is_ok());
    }
}
