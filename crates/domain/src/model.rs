//! The dealer's enumerations, stored as stable text codes and shown in Chinese or English.

use crate::error::{Lang, Rule, ValidationError};
use serde::{Deserialize, Serialize};

/// Declares an enum with a stable storage code and Chinese/English labels.
macro_rules! code_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($variant:ident = $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(
            #[serde(rename = $code)]
            $variant,
        )+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }
            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) { $(($name::$variant, Lang::Zh) => $zh, ($name::$variant, Lang::En) => $en,)+ }
            }
            /// Accepts the code, or the Chinese or English label (as DMS exports and forms use).
            pub fn parse(field: &str, s: &str) -> Result<$name, ValidationError> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($code) || t == $zh || t.eq_ignore_ascii_case($en) { return Ok($name::$variant); })+
                Err(ValidationError::new(field, s, Rule::OneOf {
                    allowed: $name::ALL.iter().map(|v| v.code().to_string()).collect(),
                }))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// Customer types (seed 003).
    pub enum CustomerKind {
        Individual = "individual", "个人", "Individual";
        Company = "company", "公司", "Company";
        Contract = "contract", "协议客户", "Contract";
        Partner = "partner", "合作伙伴", "Partner";
    }
}

code_enum! {
    /// Customer classes, derived from the data by [`crate::class::classify`], never typed by hand.
    pub enum CustomerClass {
        Potential = "potential", "潜在客户", "Prospect";
        Intent = "intent", "意向客户", "Lead";
        Defeated = "defeated", "战败客户", "Defeated";
        OwnSoldOwner = "own_sold_owner", "自销保有客户", "Owner (sold here)";
        OtherSoldOwner = "other_sold_owner", "他销保有客户", "Owner (sold elsewhere)";
        OtherBrandOwner = "other_brand_owner", "他厂牌保有客户", "Other-brand owner";
        Base = "base", "基盘客户", "Base customer";
        Vip = "vip", "VIP客户", "VIP";
        Lapsed = "lapsed", "流失客户", "Lapsed";
    }
}

code_enum! {
    pub enum Role {
        SalesConsultant = "sales_consultant", "销售顾问", "Sales consultant";
        SalesManager = "sales_manager", "销售经理", "Sales manager";
        ServiceAdvisor = "service_advisor", "服务顾问", "Service advisor";
        CareSpecialist = "care_specialist", "客服专员", "Care specialist";
        Marketing = "marketing", "市场经理", "Marketing";
        GeneralManager = "general_manager", "总经理", "General manager";
        Group = "group", "集团", "Group";
        Admin = "admin", "管理员", "Administrator";
    }
}

/// How far a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScopeLevel {
    /// Own leads and customers only.
    Own,
    /// Everything of the staff member's store.
    Store,
    /// Every store of the group.
    Group,
}

impl Role {
    pub fn scope_level(self) -> ScopeLevel {
        match self {
            Role::SalesConsultant => ScopeLevel::Own,
            Role::SalesManager
            | Role::ServiceAdvisor
            | Role::CareSpecialist
            | Role::Marketing
            | Role::GeneralManager => ScopeLevel::Store,
            Role::Group | Role::Admin => ScopeLevel::Group,
        }
    }
    /// Roles that may reveal full mobile and ID numbers (each reveal is audited).
    pub fn may_reveal_personal_data(self) -> bool {
        matches!(
            self,
            Role::SalesManager | Role::CareSpecialist | Role::GeneralManager | Role::Admin
        )
    }
}

code_enum! {
    /// Lead grades (seed 004, Beijing Hyundai standard; DOMAIN.md §2).
    pub enum LeadGrade {
        O = "O", "O级(已订车)", "O (ordered)";
        H = "H", "H级(7天内)", "H (within 7 days)";
        A = "A", "A级(15天内)", "A (within 15 days)";
        B = "B", "B级(1个月内)", "B (within a month)";
        C = "C", "C级(3个月内)", "C (within 3 months)";
    }
}

impl LeadGrade {
    /// Default follow-up cadence in days (DOMAIN.md §2); stores may configure their own.
    pub fn default_cadence_days(self) -> u32 {
        match self {
            LeadGrade::O => 7,
            LeadGrade::H => 2,
            LeadGrade::A => 3,
            LeadGrade::B => 7,
            LeadGrade::C => 14,
        }
    }
}

code_enum! {
    pub enum LeadStatus {
        Open = "open", "跟进中", "Open";
        Ordered = "ordered", "已订车", "Ordered";
        Delivered = "delivered", "已交车", "Delivered";
        DefeatPending = "defeat_pending", "战败待审", "Defeat pending";
        Defeated = "defeated", "已战败", "Defeated";
        Frozen = "frozen", "冻结", "Frozen";
        LostContact = "lost_contact", "失去联系", "Lost contact";
    }
}

impl LeadStatus {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            LeadStatus::Open | LeadStatus::Ordered | LeadStatus::DefeatPending
        )
    }
}

code_enum! {
    /// First level of the two-level lead source (DOMAIN.md §2).
    pub enum LeadSource {
        WalkIn = "walk_in", "展厅来店", "Showroom walk-in";
        PhoneIn = "phone_in", "来电", "Phone-in";
        OwnerReferral = "owner_referral", "保有客户推荐", "Owner referral";
        BaseMaintenance = "base_maintenance", "基盘维系", "Base maintenance";
        Vip = "vip", "VIP", "VIP";
        KeyAccount = "key_account", "大客户", "Key account";
        Staff = "staff", "内部员工", "Internal staff";
        OutdoorShow = "outdoor_show", "外展", "Outdoor show";
        SecondaryOutlet = "secondary_outlet", "二级网点", "Secondary outlet";
        Online = "online", "网络平台", "Online platform";
        Oem = "oem", "厂家下发", "OEM-assigned";
        Event = "event", "活动", "Event";
    }
}

code_enum! {
    pub enum ContactChannel {
        Phone = "phone", "电话", "Phone";
        Visit = "visit", "到店", "Visit";
        Sms = "sms", "短信", "SMS";
        Email = "email", "邮件", "E-mail";
        Wechat = "wechat", "微信", "WeChat";
    }
}

code_enum! {
    pub enum Direction {
        Inbound = "inbound", "呼入", "Inbound";
        Outbound = "outbound", "呼出", "Outbound";
    }
}

code_enum! {
    pub enum ContactOutcome {
        Reached = "reached", "已接通", "Reached";
        Booked = "booked", "已预约", "Booked";
        Declined = "declined", "接通拒绝", "Reached and declined";
        Unreachable = "unreachable", "未接通", "Unreachable";
        WrongNumber = "wrong_number", "号码错误", "Wrong number";
        ServicedElsewhere = "serviced_elsewhere", "已在他处保养", "Serviced elsewhere";
        DoNotContact = "do_not_contact", "拒绝联系", "Do not contact";
        Visited = "visited", "已到店", "Visited";
    }
}

code_enum! {
    pub enum TaskKind {
        LeadFollowUp = "lead_follow_up", "潜客跟进", "Lead follow-up";
        LeadEscalation = "lead_escalation", "超期跟进上报", "Overdue follow-up (escalated)";
        DeliveryFollowUp = "delivery_follow_up", "交车回访", "Post-delivery call";
        ServiceFollowUp = "service_follow_up", "维修回访", "Post-service call";
        MaintenanceReminder = "maintenance_reminder", "保养提醒", "Maintenance reminder";
        FirstServiceReminder = "first_service_reminder", "首保提醒", "First-service reminder";
        InsuranceRenewal = "insurance_renewal", "续保", "Insurance renewal";
        AnnualInspection = "annual_inspection", "年检提醒", "Annual inspection";
        WarrantyExpiry = "warranty_expiry", "质保到期", "Warranty expiry";
        Birthday = "birthday", "生日关怀", "Birthday care";
        PurchaseAnniversary = "purchase_anniversary", "购车周年", "Purchase anniversary";
        Holiday = "holiday", "节日关怀", "Holiday care";
        WinBack = "win_back", "流失招揽", "Win-back";
        // Mining: a call made from a campaign target list (mining results).
        Campaign = "campaign", "营销活动回访", "Campaign call";
        Complaint = "complaint", "投诉处理", "Complaint";
        // after-sales retention (issue 6)
        ComplaintFollowUp = "complaint_follow_up", "投诉回访", "Post-complaint call";
        ComplaintEscalation = "complaint_escalation", "投诉升级", "Complaint escalation";
        AppointmentReminder = "appointment_reminder", "预约提醒", "Appointment reminder";
        NoShowFollowUp = "no_show_follow_up", "爽约跟进", "No-show follow-up";
        Other = "other", "其他", "Other";
    }
}

code_enum! {
    pub enum TaskStatus {
        Open = "open", "待办", "Open";
        Done = "done", "已完成", "Done";
        Cancelled = "cancelled", "已取消", "Cancelled";
    }
}

code_enum! {
    pub enum WorkOrderKind {
        FirstService = "first_service", "首保", "First service";
        Maintenance = "maintenance", "保养", "Maintenance";
        Repair = "repair", "维修", "Repair";
        Accident = "accident", "事故", "Accident";
        Warranty = "warranty", "保修", "Warranty";
        Claim = "claim", "索赔", "Claim";
        Pdi = "pdi", "PDI", "PDI";
        Accessory = "accessory", "精品加装", "Accessory";
    }
}

code_enum! {
    pub enum PaidBy {
        Customer = "customer", "客户", "Customer";
        Oem = "oem", "厂家", "OEM";
        Insurer = "insurer", "保险公司", "Insurer";
    }
}

code_enum! {
    pub enum LineKind {
        Labour = "labour", "工时", "Labour";
        Part = "part", "配件", "Part";
    }
}

code_enum! {
    pub enum PolicyKind {
        Compulsory = "compulsory", "交强险", "Compulsory";
        Commercial = "commercial", "商业险", "Commercial";
    }
}

code_enum! {
    pub enum RelationKind {
        Household = "household", "家庭成员", "Household";
        Referral = "referral", "转介绍", "Referral";
    }
}

code_enum! {
    pub enum SalesOrderKind {
        New = "new", "新购", "New purchase";
        Replacement = "replacement", "置换", "Trade-in";
        Additional = "additional", "增购", "Additional car";
        Referral = "referral", "推介", "Referral";
    }
}

code_enum! {
    pub enum SalesOrderStatus {
        Open = "open", "已订车", "Ordered";
        Delivered = "delivered", "已交车", "Delivered";
        Cancelled = "cancelled", "已退订", "Cancelled";
    }
}

code_enum! {
    /// Defeat (战败) reason taxonomy.
    pub enum DefeatReason {
        Price = "price", "价格", "Price";
        CompetitorBrand = "competitor_brand", "购买竞品", "Bought a competitor";
        Financing = "financing", "金融方案", "Financing";
        Product = "product", "产品", "Product";
        OurService = "our_service", "我方服务", "Our service";
        Postponed = "postponed", "推迟购买", "Postponed";
        LostContact = "lost_contact", "失去联系", "Lost contact";
        Other = "other", "其他", "Other";
    }
}

code_enum! {
    pub enum ConsentPurpose {
        Marketing = "marketing", "营销", "Marketing";
        Service = "service", "服务提醒", "Service notices";
        ShareOem = "share_oem", "共享给厂家", "Sharing with the OEM";
        ShareInsurer = "share_insurer", "共享给保险公司", "Sharing with insurers";
    }
}

code_enum! {
    pub enum ComplaintStatus {
        Open = "open", "处理中", "Open";
        Resolved = "resolved", "已解决", "Resolved";
        Closed = "closed", "已结案", "Closed";
    }
}

// ---- showroom and leads (issue 5): see crate::sales for the rules ----------------------

code_enum! {
    /// Channel of a showroom traffic record (来店(电)客户登记表).
    pub enum ShowroomChannel {
        WalkIn = "walk_in", "来店", "Walk-in";
        PhoneIn = "phone_in", "来电", "Phone-in";
    }
}

code_enum! {
    /// Purpose of a sales contact, as the daily report (营业日报表) counts them: promoting
    /// an existing lead (促进), developing a new one (开拓), caring for owners (保有维系).
    pub enum VisitPurpose {
        Promote = "promote", "促进", "Promote";
        Develop = "develop", "开拓", "Develop";
        AfterSales = "after_sales", "保有维系", "After-sales care";
    }
}

code_enum! {
    pub enum TestDriveStatus {
        Booked = "booked", "已预约", "Booked";
        Done = "done", "已试驾", "Done";
        Cancelled = "cancelled", "已取消", "Cancelled";
    }
}

code_enum! {
    /// An invitation to come to the showroom (邀约) and whether the lead came.
    pub enum InvitationStatus {
        Invited = "invited", "已邀约", "Invited";
        Showed = "showed", "已到店", "Came";
        NoShow = "no_show", "未到店", "Did not come";
    }
}

code_enum! {
    pub enum DefeatStatus {
        Pending = "pending", "待审批", "Pending";
        Approved = "approved", "已批准", "Approved";
        Rejected = "rejected", "已驳回", "Rejected";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_labels_parse() {
        for g in LeadGrade::ALL {
            assert_eq!(LeadGrade::parse("grade", g.code()).unwrap(), *g);
        }
        assert_eq!(
            CustomerKind::parse("kind", "公司").unwrap(),
            CustomerKind::Company
        );
        assert_eq!(
            Role::parse("role", "Sales consultant").unwrap(),
            Role::SalesConsultant
        );
        let e = LeadGrade::parse("grade", "Z").unwrap_err();
        assert_eq!(e.field, "grade");
        assert_eq!(e.value, "Z");
        assert_eq!(e.code(), "one_of");
    }

    #[test]
    fn default_cadence_follows_domain_table() {
        let days: Vec<u32> = LeadGrade::ALL
            .iter()
            .map(|g| g.default_cadence_days())
            .collect();
        assert_eq!(days, vec![7, 2, 3, 7, 14]);
    }

    #[test]
    fn scope_by_role() {
        assert_eq!(Role::SalesConsultant.scope_level(), ScopeLevel::Own);
        assert_eq!(Role::ServiceAdvisor.scope_level(), ScopeLevel::Store);
        assert_eq!(Role::Group.scope_level(), ScopeLevel::Group);
        assert!(!Role::SalesConsultant.may_reveal_personal_data());
        assert!(Role::Admin.may_reveal_personal_data());
    }
}
