//! The management KPI catalogue (issue 9): one definition per KPI — id, names, formula,
//! unit, direction and a plain-language definition in Chinese and English — and the pure
//! rules over KPI values: periods (day / month / quarter / year with the previous and the
//! year-ago period), values from numerator and denominator, changes, direction-aware
//! rankings and the service-absorption bands.
//!
//! A KPI's value is always `Σ numerator ÷ Σ denominator` over the records of the scope
//! (staff, store, brand or group), never an average of store rates. The SQL that counts
//! numerator and denominator lives in `dealerbase-store` (`kpi.rs`), keyed by the ids below.

use crate::error::{Lang, Rule, ValidationError};
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// What a KPI's number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// numerator ÷ denominator, shown as a percentage.
    Percent,
    /// A count of records (the numerator; there is no denominator).
    Count,
    /// A sum of money in fen (the numerator; there is no denominator).
    Money,
}

/// Whether a bigger value is better (ranks first) or worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// The business area a KPI belongs to (for grouping on pages and dashboards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Sales,
    Aftersales,
    Finance,
}

/// One KPI of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KpiDef {
    pub id: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub formula_zh: &'static str,
    pub formula_en: &'static str,
    pub unit: Unit,
    pub direction: Direction,
    pub area: Area,
    /// Whether the KPI can be computed per staff member (its records name the person).
    pub per_staff: bool,
    pub definition_zh: &'static str,
    pub definition_en: &'static str,
}

impl KpiDef {
    pub fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.name_zh,
            Lang::En => self.name_en,
        }
    }
    pub fn formula(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.formula_zh,
            Lang::En => self.formula_en,
        }
    }
    pub fn definition(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.definition_zh,
            Lang::En => self.definition_en,
        }
    }
    /// The value of numerator and denominator: a ratio for percentages (None when the
    /// denominator is zero), the numerator itself for counts and money.
    pub fn value(&self, num: i64, den: i64) -> Option<f64> {
        match self.unit {
            Unit::Percent => (den > 0).then(|| num as f64 / den as f64),
            Unit::Count | Unit::Money => Some(num as f64),
        }
    }
    /// The value formatted for people: "87.5%", "1,234", "¥12,345.67", or "—".
    pub fn format(&self, v: Option<f64>) -> String {
        match (v, self.unit) {
            (None, _) => "—".into(),
            (Some(v), Unit::Percent) => format!("{:.1}%", v * 100.0),
            (Some(v), Unit::Count) => group_digits(v.round() as i64),
            (Some(v), Unit::Money) => {
                let fen = v.round() as i64;
                let sign = if fen < 0 { "-" } else { "" };
                let a = fen.abs();
                format!("{sign}¥{}.{:02}", group_digits(a / 100), a % 100)
            }
        }
    }
}

fn group_digits(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

use Area::*;
use Direction::*;
use Unit::*;

/// Every KPI dealerbase computes. Ids are stable (API, targets, saved links).
pub const CATALOGUE: &[KpiDef] = &[
    KpiDef {
        id: "traffic",
        name_zh: "客流量",
        name_en: "Showroom traffic",
        formula_zh: "期间到店（含来电）登记条数",
        formula_en: "showroom visits and calls recorded in the period",
        unit: Count,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "展厅前台登记的到店和来电客流，按到店时间计入期间。",
        definition_en: "Walk-ins and phone calls logged at the showroom reception, counted by arrival time.",
    },
    KpiDef {
        id: "registration_rate",
        name_zh: "留档率",
        name_en: "Registration rate",
        formula_zh: "首次到店并建档的客流 ÷ 首次到店客流",
        formula_en: "first visits registered as a lead ÷ first visits",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "第一次来店的客人中，有多少留下了联系方式、建了线索档案。",
        definition_en: "Of the people who came to the showroom for the first time, the share who left their details as a lead.",
    },
    KpiDef {
        id: "invitation_show_rate",
        name_zh: "邀约到店率",
        name_en: "Invitation show-up rate",
        formula_zh: "邀约到店数 ÷ 邀约数（按约定日期）",
        formula_en: "invitations that came ÷ invitations (by appointment date)",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "约好在期间内来店的客户中，真正来了的比例。",
        definition_en: "Of the customers invited to come in the period, the share who came.",
    },
    KpiDef {
        id: "test_drive_rate",
        name_zh: "试乘试驾率",
        name_en: "Test-drive rate",
        formula_zh: "完成试驾数 ÷ 新增线索数",
        formula_en: "test drives done ÷ new leads",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间完成的试乘试驾次数，与期间新增线索数之比。",
        definition_en: "Test drives done in the period relative to the leads created in the period.",
    },
    KpiDef {
        id: "second_visit_rate",
        name_zh: "二次来店率",
        name_en: "Second-visit rate",
        formula_zh: "有再次到店的新增线索 ÷ 新增线索",
        formula_en: "new leads with a repeat visit ÷ new leads",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间新建的线索中，客户又来过店（非首次到店登记）的比例。",
        definition_en: "Of the leads created in the period, the share whose customer came back to the showroom.",
    },
    KpiDef {
        id: "conversion_rate",
        name_zh: "成交率",
        name_en: "Conversion rate",
        formula_zh: "订单数（不含取消） ÷ 新增线索数",
        formula_en: "orders (not cancelled) ÷ new leads",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间签下的订单数，与期间新增线索数之比。",
        definition_en: "Orders signed in the period relative to the leads created in the period.",
    },
    KpiDef {
        id: "defeat_rate",
        name_zh: "战败率",
        name_en: "Defeat rate",
        formula_zh: "批准的战败 ÷（批准的战败 + 交车）",
        formula_en: "approved defeats ÷ (approved defeats + deliveries)",
        unit: Percent,
        direction: LowerIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间结束的线索中，以战败告终（经理批准）而不是交车的比例。",
        definition_en: "Of the leads that ended in the period, the share lost (defeat approved) rather than delivered.",
    },
    KpiDef {
        id: "defeat_clarity_rate",
        name_zh: "战败明确率",
        name_en: "Defeat clarity rate",
        formula_zh: "以明确原因批准的战败 ÷ 战败申请",
        formula_en: "defeats approved with a specific reason ÷ defeat requests",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间提交的战败申请中，经理批准且原因明确（不是“其他”或“失去联系”）的比例：说明顾问是否真正了解客户为何流失。",
        definition_en: "Of the defeat requests made in the period, the share the manager approved with a specific reason (not \"other\" or \"lost contact\"): whether consultants really know why a customer was lost.",
    },
    KpiDef {
        id: "owner_business_rate",
        name_zh: "保有推介/置换/增购比",
        name_en: "Owner business share",
        formula_zh: "推介、置换、增购订单 ÷ 全部订单",
        formula_en: "referral, trade-in and additional-car orders ÷ all orders",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间签订且未取消的订单中，来自保有客户（推介、置换、增购）的比例。",
        definition_en: "Of the orders signed in the period and not cancelled, the share that came from existing owners (referral, trade-in, additional car).",
    },
    KpiDef {
        id: "order_backlog_rate",
        name_zh: "订单储备率",
        name_en: "Order backlog rate",
        formula_zh: "期末未交车订单 ÷ 下月销售目标",
        formula_en: "orders open at the end of the period ÷ next month's sales target",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: false,
        definition_zh: "期末已签订、未取消、尚未交车的订单，相对门店下个月的销售目标（门店目标，不含顾问分解）。",
        definition_en: "Orders signed, not cancelled and not yet delivered at the end of the period, against the store's sales target for the next month (the store's own target, not the consultants' shares).",
    },
    KpiDef {
        id: "orders",
        name_zh: "订单数",
        name_en: "Orders",
        formula_zh: "期间签订且未取消的订单数",
        formula_en: "orders signed in the period and not cancelled",
        unit: Count,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "按签单日期计入期间的新车订单。",
        definition_en: "New-car orders counted by the day they were signed.",
    },
    KpiDef {
        id: "deliveries",
        name_zh: "交车数",
        name_en: "Deliveries",
        formula_zh: "期间交车的订单数",
        formula_en: "orders delivered in the period",
        unit: Count,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "按交车日期计入期间的交付台数。",
        definition_en: "Cars handed over, counted by delivery day.",
    },
    KpiDef {
        id: "renewal_rate",
        name_zh: "续保率",
        name_en: "Insurance renewal rate",
        formula_zh: "到期保单中已续保的 ÷ 期间到期的保单",
        formula_en: "policies renewed ÷ policies ending in the period",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: false,
        definition_zh: "期间到期的保单中，有续保单（或同车同险种的新保单）的比例。",
        definition_en: "Of the policies that ended in the period, the share followed by a renewal (or a newer policy of the same car and kind).",
    },
    KpiDef {
        id: "first_service_return_rate",
        name_zh: "首保回厂率",
        name_en: "First-service return rate",
        formula_zh: "首保窗口关闭时在本店做了首保的车 ÷ 首保窗口在期间关闭的车",
        formula_en: "cars serviced here ÷ cars whose first-service window closed in the period",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: false,
        definition_zh: "首保期限在期间到期的车里，按时回本店做了首次保养的比例（取最新一次夜间保养预测）。",
        definition_en: "Of the cars whose first-service window closed in the period, the share that had it done here (newest nightly prediction).",
    },
    KpiDef {
        id: "second_service_return_rate",
        name_zh: "二保回厂率",
        name_en: "Second-service return rate",
        formula_zh: "二保窗口关闭时在本店做了二保的车 ÷ 二保窗口在期间关闭的车",
        formula_en: "cars serviced here ÷ cars whose second-service window closed in the period",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: false,
        definition_zh: "二保期限在期间到期的车里，回本店做了第二次保养的比例。",
        definition_en: "Of the cars whose second-service window closed in the period, the share that had it done here.",
    },
    KpiDef {
        id: "churn_rate",
        name_zh: "客户流失率",
        name_en: "Churn rate (cohort)",
        formula_zh: "7 个月前当月来厂、之后 6 个月未再来厂的客户 ÷ 7 个月前当月来厂的客户",
        formula_en: "customers who visited in month N−7 and did not return in the next 6 months ÷ visitors in month N−7",
        unit: Percent,
        direction: LowerIsBetter,
        area: Aftersales,
        per_staff: false,
        definition_zh: "期间往前推 7 个月的来厂客户（按门店计），在其来厂月之后的 6 个月内没有再来本店的比例；目标 ≤ 20%。",
        definition_en: "Of the customers who visited a store in the period moved back 7 months, the share who did not come back to that store in the 6 months after their visit's month; target ≤ 20%.",
    },
    KpiDef {
        id: "retention_rate",
        name_zh: "客户留存率",
        name_en: "Retention rate",
        formula_zh: "（期末活跃客户 − 期间新客户）÷ 期初活跃客户",
        formula_en: "(active at end − new in period) ÷ active at start",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: false,
        definition_zh: "活跃客户 = 12 个月内来过本店的客户；新客户 = 首次来店在期间内的客户。",
        definition_en: "Active = visited the store within the last 12 months; new = first visit to the store in the period.",
    },
    KpiDef {
        id: "follow_up_success_rate",
        name_zh: "回访成功率",
        name_en: "Follow-up success rate",
        formula_zh: "联系上并完成的回访 ÷ 期间应回访数（不含取消）",
        formula_en: "follow-up calls done and reached ÷ follow-up calls due (not cancelled)",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: true,
        definition_zh: "交车、维修、投诉后应在期间完成的回访中，打通并完成的比例。",
        definition_en: "Of the delivery, service and complaint follow-up calls due in the period, the share that reached the customer.",
    },
    KpiDef {
        id: "complaint_closure_rate",
        name_zh: "投诉两周结案率",
        name_en: "Complaints closed within two weeks",
        formula_zh: "14 天内结案的投诉 ÷ 期间受理的投诉",
        formula_en: "complaints closed within 14 days ÷ complaints opened in the period",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: false,
        definition_zh: "期间受理的投诉中，两周（14 天）内结案的比例。",
        definition_en: "Of the complaints opened in the period, the share closed within two weeks (14 days).",
    },
    KpiDef {
        id: "csi_satisfaction_rate",
        name_zh: "售后满意率（CSI）",
        name_en: "Service satisfaction (CSI)",
        formula_zh: "服务评分 4–5 分的答卷 ÷ 售后答卷",
        formula_en: "service answers scoring 4–5 ÷ service answers",
        unit: Percent,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: true,
        definition_zh: "期间收回的售后满意度问卷中，打“满意”或“非常满意”的比例。",
        definition_en: "Of the service surveys answered in the period, the share satisfied or very satisfied.",
    },
    KpiDef {
        id: "ssi_satisfaction_rate",
        name_zh: "销售满意率（SSI）",
        name_en: "Sales satisfaction (SSI)",
        formula_zh: "服务评分 4–5 分的答卷 ÷ 销售答卷",
        formula_en: "sales answers scoring 4–5 ÷ sales answers",
        unit: Percent,
        direction: HigherIsBetter,
        area: Sales,
        per_staff: true,
        definition_zh: "期间收回的购车满意度问卷中，打“满意”或“非常满意”的比例。",
        definition_en: "Of the sales surveys answered in the period, the share satisfied or very satisfied.",
    },
    KpiDef {
        id: "work_orders",
        name_zh: "进厂台次",
        name_en: "Work orders",
        formula_zh: "期间结算的工单数",
        formula_en: "work orders settled in the period",
        unit: Count,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: true,
        definition_zh: "按结算日期计入期间的维修保养工单。",
        definition_en: "Service and repair work orders counted by the day they were settled.",
    },
    KpiDef {
        id: "service_revenue",
        name_zh: "售后产值",
        name_en: "After-sales revenue",
        formula_zh: "期间结算工单的工时与配件金额合计",
        formula_en: "labour and parts amounts of the work orders settled in the period",
        unit: Money,
        direction: HigherIsBetter,
        area: Aftersales,
        per_staff: true,
        definition_zh: "结算工单上工时费和配件费的合计（含税金额，以分计）。",
        definition_en: "Labour and parts charged on the settled work orders.",
    },
    KpiDef {
        id: "aftersales_gross_profit",
        name_zh: "售后毛利",
        name_en: "After-sales gross profit",
        formula_zh: "工时收入 + 配件收入 − 配件成本",
        formula_en: "labour revenue + parts revenue − parts cost",
        unit: Money,
        direction: HigherIsBetter,
        area: Finance,
        per_staff: true,
        definition_zh: "期间结算工单的毛利：每行金额减去该行成本（工时行成本为 0）。",
        definition_en: "Gross profit of the settled work orders: each line's amount less its cost (labour lines cost nothing).",
    },
    KpiDef {
        id: "operating_cost",
        name_zh: "运营费用",
        name_en: "Operating costs",
        formula_zh: "期间各月录入的固定与变动费用合计",
        formula_en: "fixed and variable costs entered for the months of the period",
        unit: Money,
        direction: LowerIsBetter,
        area: Finance,
        per_staff: false,
        definition_zh: "各门店每月录入的运营费用（房租、人工、水电等），按月计入。",
        definition_en: "Each store's monthly operating costs (rent, payroll, utilities …) as entered.",
    },
    KpiDef {
        id: "service_absorption",
        name_zh: "服务吸收率",
        name_en: "Service absorption",
        formula_zh: "售后毛利 ÷ 运营费用",
        formula_en: "after-sales gross profit ÷ operating costs",
        unit: Percent,
        direction: HigherIsBetter,
        area: Finance,
        per_staff: false,
        definition_zh: "售后毛利能覆盖多少门店运营费用；100% 表示不卖车也能保本。按月录入费用，日数据无意义。",
        definition_en: "How much of the store's operating costs after-sales gross profit covers; 100% means the store breaks even without selling a car.",
    },
];

/// The KPI with this id, or an error naming the field, the value and the allowed ids.
pub fn find(field: &str, id: &str) -> Result<&'static KpiDef, ValidationError> {
    let t = id.trim();
    CATALOGUE.iter().find(|k| k.id == t).ok_or_else(|| {
        ValidationError::new(
            field,
            id,
            Rule::OneOf {
                allowed: CATALOGUE.iter().map(|k| k.id.to_string()).collect(),
            },
        )
    })
}

// ---- periods --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Day,
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 4] = [
        PeriodKind::Day,
        PeriodKind::Month,
        PeriodKind::Quarter,
        PeriodKind::Year,
    ];
    pub fn code(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (PeriodKind::Day, Lang::Zh) => "日",
            (PeriodKind::Month, Lang::Zh) => "月",
            (PeriodKind::Quarter, Lang::Zh) => "季度",
            (PeriodKind::Year, Lang::Zh) => "年",
            (PeriodKind::Day, Lang::En) => "Day",
            (PeriodKind::Month, Lang::En) => "Month",
            (PeriodKind::Quarter, Lang::En) => "Quarter",
            (PeriodKind::Year, Lang::En) => "Year",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<PeriodKind, ValidationError> {
        let t = s.trim();
        PeriodKind::ALL
            .into_iter()
            .find(|k| k.code().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    s,
                    Rule::OneOf {
                        allowed: PeriodKind::ALL
                            .iter()
                            .map(|k| k.code().to_string())
                            .collect(),
                    },
                )
            })
    }
    fn months(self) -> u32 {
        match self {
            PeriodKind::Day => 0,
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }
}

/// A calendar period: `[start, until)`, days in China's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub kind: PeriodKind,
    pub start: NaiveDate,
}

impl Period {
    /// The period of `kind` that contains `day`.
    pub fn containing(kind: PeriodKind, day: NaiveDate) -> Period {
        let (y, m) = (day.year(), day.month());
        let start = match kind {
            PeriodKind::Day => day,
            PeriodKind::Month => NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day),
            PeriodKind::Quarter => {
                NaiveDate::from_ymd_opt(y, (m - 1) / 3 * 3 + 1, 1).unwrap_or(day)
            }
            PeriodKind::Year => NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(day),
        };
        Period { kind, start }
    }

    /// Reads `at` for the kind: day `2026-10-05`, month `2026-10`, quarter `2026-Q4` (or a
    /// month or day inside it), year `2026`. Errors name the field `at`, the value and the
    /// expected format.
    pub fn parse(kind: PeriodKind, at: &str) -> Result<Period, ValidationError> {
        let t = at.trim();
        let bad = || ValidationError::new("at", at, Rule::DateFormat);
        let day = if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            d
        } else if let Ok(d) = NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d") {
            d
        } else if let Some((y, q)) = t.split_once(['Q', 'q']) {
            let y: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
            let q: u32 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) {
                return Err(bad());
            }
            NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1).ok_or_else(bad)?
        } else if t.len() == 4 {
            let y: i32 = t.parse().map_err(|_| bad())?;
            NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?
        } else {
            return Err(bad());
        };
        if !(2000..=2100).contains(&day.year()) {
            return Err(ValidationError::new(
                "at",
                at,
                Rule::OutOfRange {
                    min: 2000,
                    max: 2100,
                },
            ));
        }
        Ok(Period::containing(kind, day))
    }

    /// The first day after the period.
    pub fn until(&self) -> NaiveDate {
        match self.kind {
            PeriodKind::Day => self.start.succ_opt().unwrap_or(self.start),
            k => self
                .start
                .checked_add_months(Months::new(k.months()))
                .unwrap_or(self.start),
        }
    }

    /// The period just before (the basis of month-on-month, or day-on-day …).
    pub fn previous(&self) -> Period {
        let start = match self.kind {
            PeriodKind::Day => self.start.pred_opt().unwrap_or(self.start),
            k => self
                .start
                .checked_sub_months(Months::new(k.months()))
                .unwrap_or(self.start),
        };
        Period {
            kind: self.kind,
            start,
        }
    }

    /// The same period a year before (year-on-year). 29 February maps to 28 February.
    pub fn year_ago(&self) -> Period {
        let start = self
            .start
            .checked_sub_months(Months::new(12))
            .unwrap_or(self.start);
        Period {
            kind: self.kind,
            start,
        }
    }

    /// `2026-10-05`, `2026-10`, `2026-Q4`, `2026` — the form `parse` reads back.
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::Day => self.start.format("%Y-%m-%d").to_string(),
            PeriodKind::Month => self.start.format("%Y-%m").to_string(),
            PeriodKind::Quarter => {
                format!(
                    "{}-Q{}",
                    self.start.year(),
                    (self.start.month() - 1) / 3 + 1
                )
            }
            PeriodKind::Year => self.start.year().to_string(),
        }
    }

    /// The first days of the months the period touches (for monthly figures such as
    /// operating costs and targets).
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut m = Period::containing(PeriodKind::Month, self.start).start;
        let until = self.until();
        while m < until {
            out.push(m);
            m = match m.checked_add_months(Months::new(1)) {
                Some(x) => x,
                None => break,
            };
        }
        out
    }
}

/// The `n` months ending with the month of `last` (oldest first), for trend charts.
pub fn trailing_months(last: NaiveDate, n: u32) -> Vec<Period> {
    let end = Period::containing(PeriodKind::Month, last).start;
    (0..n)
        .rev()
        .filter_map(|i| end.checked_sub_months(Months::new(i)))
        .map(|start| Period {
            kind: PeriodKind::Month,
            start,
        })
        .collect()
}

// ---- changes and rankings -------------------------------------------------------------------

/// How a value moved against a basis: for percentages the difference in percentage points
/// (0.62 → 0.65 is +3.0 points); for counts and money the relative change (100 → 120 is
/// +20%). None when either side has no value (or the basis is 0 for a relative change).
pub fn change(def: &KpiDef, now: Option<f64>, basis: Option<f64>) -> Option<f64> {
    let (n, b) = (now?, basis?);
    match def.unit {
        Unit::Percent => Some((n - b) * 100.0),
        Unit::Count | Unit::Money => (b != 0.0).then(|| (n - b) / b.abs()),
    }
}

/// A change formatted: "+3.0pt" / "-12.5%" / "—".
pub fn format_change(def: &KpiDef, c: Option<f64>) -> String {
    match (c, def.unit) {
        (None, _) => "—".into(),
        (Some(v), Unit::Percent) => format!("{v:+.1}pt"),
        (Some(v), _) => format!("{:+.1}%", v * 100.0),
    }
}

/// Whether a change is good news for the KPI's direction (None when there is no change).
pub fn is_improvement(def: &KpiDef, c: Option<f64>) -> Option<bool> {
    let c = c?;
    if c == 0.0 {
        return None;
    }
    Some(match def.direction {
        Direction::HigherIsBetter => c > 0.0,
        Direction::LowerIsBetter => c < 0.0,
    })
}

/// Competition ranks (1, 2, 2, 4) by value in the KPI's direction; entries without a value
/// get no rank.
pub fn ranks(direction: Direction, values: &[Option<f64>]) -> Vec<Option<u32>> {
    values
        .iter()
        .map(|v| {
            let v = (*v)?;
            let better = values
                .iter()
                .filter_map(|o| *o)
                .filter(|o| match direction {
                    Direction::HigherIsBetter => *o > v,
                    Direction::LowerIsBetter => *o < v,
                })
                .count();
            Some(better as u32 + 1)
        })
        .collect()
}

/// Places moved up since the previous period: previous rank − current rank (positive =
/// climbed). None when either period has no rank.
pub fn rank_change(now: Option<u32>, before: Option<u32>) -> Option<i64> {
    Some(before? as i64 - now? as i64)
}

// ---- service absorption ---------------------------------------------------------------------

/// The service-absorption bands: below 60% critical, 60–80% weak, 80–100% good, from 100%
/// the store covers its costs from after-sales alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsorptionBand {
    Critical,
    Weak,
    Good,
    Covered,
}

impl AbsorptionBand {
    pub fn of(rate: f64) -> AbsorptionBand {
        if rate < 0.6 {
            AbsorptionBand::Critical
        } else if rate < 0.8 {
            AbsorptionBand::Weak
        } else if rate < 1.0 {
            AbsorptionBand::Good
        } else {
            AbsorptionBand::Covered
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            AbsorptionBand::Critical => "critical",
            AbsorptionBand::Weak => "weak",
            AbsorptionBand::Good => "good",
            AbsorptionBand::Covered => "covered",
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (AbsorptionBand::Critical, Lang::Zh) => "低于 60%（危险）",
            (AbsorptionBand::Weak, Lang::Zh) => "60–80%（偏弱）",
            (AbsorptionBand::Good, Lang::Zh) => "80–100%（良好）",
            (AbsorptionBand::Covered, Lang::Zh) => "≥100%（售后覆盖全部费用）",
            (AbsorptionBand::Critical, Lang::En) => "below 60% (critical)",
            (AbsorptionBand::Weak, Lang::En) => "60–80% (weak)",
            (AbsorptionBand::Good, Lang::En) => "80–100% (good)",
            (AbsorptionBand::Covered, Lang::En) => "≥100% (costs covered by after-sales)",
        }
    }
}

/// Operating-cost categories (fixed or variable) a store enters each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    Fixed,
    Variable,
}

impl CostKind {
    pub fn code(self) -> &'static str {
        match self {
            CostKind::Fixed => "fixed",
            CostKind::Variable => "variable",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<CostKind, ValidationError> {
        match s.trim() {
            "fixed" | "固定" | "固定费用" | "Fixed" => Ok(CostKind::Fixed),
            "variable" | "变动" | "变动费用" | "Variable" => Ok(CostKind::Variable),
            _ => Err(ValidationError::new(
                field,
                s,
                Rule::OneOf {
                    allowed: vec!["fixed".into(), "variable".into()],
                },
            )),
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (CostKind::Fixed, Lang::Zh) => "固定费用",
            (CostKind::Variable, Lang::Zh) => "变动费用",
            (CostKind::Fixed, Lang::En) => "Fixed",
            (CostKind::Variable, Lang::En) => "Variable",
        }
    }
}

// ---- targets ---------------------------------------------------------------------------------

/// What a monthly target is set on, and the catalogue KPI whose numerator is the actual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMetric {
    /// Orders signed (销量).
    Sales,
    /// Showroom traffic.
    Traffic,
    /// Policies renewed.
    Renewals,
    /// After-sales revenue (fen).
    ServiceRevenue,
}

impl TargetMetric {
    pub const ALL: [TargetMetric; 4] = [
        TargetMetric::Sales,
        TargetMetric::Traffic,
        TargetMetric::Renewals,
        TargetMetric::ServiceRevenue,
    ];
    pub fn code(self) -> &'static str {
        match self {
            TargetMetric::Sales => "sales",
            TargetMetric::Traffic => "traffic",
            TargetMetric::Renewals => "renewals",
            TargetMetric::ServiceRevenue => "service_revenue",
        }
    }
    /// The KPI whose numerator is the actual.
    pub fn kpi(self) -> &'static str {
        match self {
            TargetMetric::Sales => "orders",
            TargetMetric::Traffic => "traffic",
            TargetMetric::Renewals => "renewal_rate",
            TargetMetric::ServiceRevenue => "service_revenue",
        }
    }
    pub fn is_money(self) -> bool {
        self == TargetMetric::ServiceRevenue
    }
    /// Whether staff members get a share (renewal records name no consultant).
    pub fn per_staff(self) -> bool {
        self != TargetMetric::Renewals
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (TargetMetric::Sales, Lang::Zh) => "销量（订单）",
            (TargetMetric::Traffic, Lang::Zh) => "客流",
            (TargetMetric::Renewals, Lang::Zh) => "续保台数",
            (TargetMetric::ServiceRevenue, Lang::Zh) => "售后产值",
            (TargetMetric::Sales, Lang::En) => "Sales (orders)",
            (TargetMetric::Traffic, Lang::En) => "Traffic",
            (TargetMetric::Renewals, Lang::En) => "Renewals",
            (TargetMetric::ServiceRevenue, Lang::En) => "After-sales revenue",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<TargetMetric, ValidationError> {
        TargetMetric::ALL
            .into_iter()
            .find(|m| m.code() == s.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    s,
                    Rule::OneOf {
                        allowed: TargetMetric::ALL
                            .iter()
                            .map(|m| m.code().to_string())
                            .collect(),
                    },
                )
            })
    }
}

/// Splits `total` over shares proportional to `weights` (last year's actuals), by largest
/// remainder so the parts add up to the total exactly. All-zero weights split evenly.
pub fn split_proportional(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i64 = weights.iter().map(|w| (*w).max(0)).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum == 0 {
        return split_even(total, weights.len());
    }
    let exact: Vec<(i64, i128)> = weights
        .iter()
        .map(|w| {
            let p = total as i128 * (*w).max(0) as i128;
            ((p / sum as i128) as i64, p % sum as i128)
        })
        .collect();
    let mut out: Vec<i64> = exact.iter().map(|e| e.0).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order {
        if left <= 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Splits `total` evenly over `n` shares; the first shares take the remainder.
pub fn split_even(total: i64, n: usize) -> Vec<i64> {
    if n == 0 {
        return Vec::new();
    }
    let (q, r) = (total / n as i64, total % n as i64);
    (0..n as i64).map(|i| q + i64::from(i < r)).collect()
}

/// actual ÷ target (None without a target).
pub fn completion(actual: i64, target: i64) -> Option<f64> {
    (target > 0).then(|| actual as f64 / target as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn catalogue_ids_are_unique_and_findable() {
        for (i, k) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.id != k.id), "{}", k.id);
            assert_eq!(find("kpi", k.id).unwrap().id, k.id);
            assert!(!k.definition_zh.is_empty() && !k.definition_en.is_empty());
        }
        let e = find("kpi", "nope").unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("kpi", "nope"));
    }

    #[test]
    fn periods_parse_and_step() {
        let m = Period::parse(PeriodKind::Month, "2026-10").unwrap();
        assert_eq!((m.start, m.until()), (d("2026-10-01"), d("2026-11-01")));
        assert_eq!(m.previous().label(), "2026-09");
        assert_eq!(m.year_ago().label(), "2025-10");
        let q = Period::parse(PeriodKind::Quarter, "2026-Q4").unwrap();
        assert_eq!((q.start, q.until()), (d("2026-10-01"), d("2027-01-01")));
        assert_eq!(q.previous().label(), "2026-Q3");
        // A day inside the quarter names the quarter too.
        assert_eq!(
            Period::parse(PeriodKind::Quarter, "2026-11-15")
                .unwrap()
                .label(),
            "2026-Q4"
        );
        let y = Period::parse(PeriodKind::Year, "2026").unwrap();
        assert_eq!(y.until(), d("2027-01-01"));
        assert_eq!(y.months().len(), 12);
        let day = Period::parse(PeriodKind::Day, "2026-03-01").unwrap();
        assert_eq!(day.previous().label(), "2026-02-28");
        assert_eq!(day.months(), vec![d("2026-03-01")]);
        for bad in ["2026-13", "2026-Q5", "abc", "1999-01"] {
            let e = Period::parse(PeriodKind::Month, bad).unwrap_err();
            assert_eq!(e.field, "at", "{bad}");
        }
        let t = trailing_months(d("2026-10-17"), 12);
        assert_eq!(t.len(), 12);
        assert_eq!(t[0].label(), "2025-11");
        assert_eq!(t[11].label(), "2026-10");
    }

    #[test]
    fn values_changes_and_ranks_by_hand() {
        let renewal = find("kpi", "renewal_rate").unwrap();
        // 3 renewed of 4 ending = 75%.
        assert_eq!(renewal.value(3, 4), Some(0.75));
        assert_eq!(renewal.value(0, 0), None);
        assert_eq!(renewal.format(Some(0.75)), "75.0%");
        // 75% against 60%: +15 percentage points.
        let c = change(renewal, Some(0.75), Some(0.60));
        assert!((c.unwrap() - 15.0).abs() < 1e-9);
        assert_eq!(format_change(renewal, c), "+15.0pt");
        let orders = find("kpi", "orders").unwrap();
        // 120 orders against 100: +20%.
        assert_eq!(change(orders, Some(120.0), Some(100.0)), Some(0.2));
        assert_eq!(change(orders, Some(5.0), Some(0.0)), None);
        let rev = find("kpi", "service_revenue").unwrap();
        assert_eq!(rev.format(Some(123_456_789.0)), "¥1,234,567.89");
        // Higher is better: 0.9 first, the two 0.8 share second, 0.5 fourth.
        assert_eq!(
            ranks(
                Direction::HigherIsBetter,
                &[Some(0.8), Some(0.9), None, Some(0.8), Some(0.5)]
            ),
            vec![Some(2), Some(1), None, Some(2), Some(4)]
        );
        // Lower is better (defeat rate): 0.1 first.
        assert_eq!(
            ranks(Direction::LowerIsBetter, &[Some(0.3), Some(0.1)]),
            vec![Some(2), Some(1)]
        );
        // From 4th to 2nd = climbed 2.
        assert_eq!(rank_change(Some(2), Some(4)), Some(2));
        let defeat = find("kpi", "defeat_rate").unwrap();
        assert_eq!(is_improvement(defeat, Some(-2.0)), Some(true));
        assert_eq!(is_improvement(renewal, Some(-2.0)), Some(false));
    }

    #[test]
    fn target_splits_by_hand() {
        // 100 over last year's 30, 50, 20 (sum 100): 30, 50, 20.
        assert_eq!(split_proportional(100, &[30, 50, 20]), vec![30, 50, 20]);
        // 10 over 1, 1, 1: 3.33 each → 3, 3, 3 and the remainder 1 to the first (ties by
        // order) → 4, 3, 3.
        assert_eq!(split_proportional(10, &[1, 1, 1]), vec![4, 3, 3]);
        // 7 over 2 and 5 (sum 7): 2, 5. 10 over 2 and 5: 2.857 → 2 (r .857), 7.142 → 7
        // (r .142); one left goes to the larger remainder → 3, 7.
        assert_eq!(split_proportional(10, &[2, 5]), vec![3, 7]);
        // No history: evenly, 10 over 4 → 3, 3, 2, 2.
        assert_eq!(split_proportional(10, &[0, 0, 0, 0]), vec![3, 3, 2, 2]);
        assert_eq!(split_even(5, 2), vec![3, 2]);
        assert_eq!(completion(45, 60), Some(0.75));
        assert_eq!(completion(5, 0), None);
        assert_eq!(
            TargetMetric::parse("metric", "sales").unwrap().kpi(),
            "orders"
        );
        assert_eq!(
            TargetMetric::parse("metric", "x").unwrap_err().field,
            "metric"
        );
    }

    #[test]
    fn absorption_bands() {
        assert_eq!(AbsorptionBand::of(0.59), AbsorptionBand::Critical);
        assert_eq!(AbsorptionBand::of(0.6), AbsorptionBand::Weak);
        assert_eq!(AbsorptionBand::of(0.8), AbsorptionBand::Good);
        assert_eq!(AbsorptionBand::of(1.0), AbsorptionBand::Covered);
    }
}
