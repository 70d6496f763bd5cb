//! Every label of the web pages in Chinese and English: `t(key, lang)`. Enumerations
//! (roles, classes, grades…) take their labels from dealerbase-domain through [`code`].
//!
//! A unit test reads every template and checks that each `t("…")` key used there is here.

use dealerbase_domain::Lang;
use dealerbase_domain::model::*;
use dealerbase_domain::resident_id::{Gender, IdType};

/// (key, Chinese, English)
const DICT: &[(&str, &str, &str)] = &[
    ("app.name", "经销商客户管理", "dealerbase"),
    (
        "app.tagline",
        "4S店与经销商集团的客户管理与数据挖掘",
        "CRM and customer mining for car dealers",
    ),
    ("nav.today", "今日待办", "Today"),
    ("nav.dashboard", "看板", "Dashboard"),
    ("nav.customers", "客户", "Customers"),
    ("nav.leads", "意向客户", "Leads"),
    ("nav.users", "用户与角色", "Users and roles"),
    ("nav.stores", "门店", "Stores"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.password", "修改密码", "Change password"),
    ("nav.sign_out", "退出", "Sign out"),
    ("nav.menu", "菜单", "Menu"),
    ("lang.switch", "English", "中文"),
    ("lang.switch_title", "Switch to English", "切换到中文"),
    ("login.title", "登录", "Sign in"),
    ("login.login", "登录名", "Login"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    (
        "login.hint",
        "首次使用：用 dealerbase user add --role admin 创建管理员，或设置 DEALERBASE_ADMIN_LOGIN 与 DEALERBASE_ADMIN_PASSWORD 后启动。",
        "First run: create the administrator with dealerbase user add --role admin, or start with DEALERBASE_ADMIN_LOGIN and DEALERBASE_ADMIN_PASSWORD set.",
    ),
    ("login.expired", "请重新登录", "Please sign in again"),
    ("password.title", "修改密码", "Change password"),
    ("password.current", "当前密码", "Current password"),
    ("password.new", "新密码", "New password"),
    ("password.confirm", "再次输入新密码", "New password again"),
    (
        "password.done",
        "密码已修改；其他设备上的登录已退出。",
        "Password changed; sessions on other devices were signed out.",
    ),
    ("common.save", "保存", "Save"),
    ("common.cancel", "取消", "Cancel"),
    ("common.search", "搜索", "Search"),
    ("common.filter", "筛选", "Filter"),
    ("common.reset", "清除", "Reset"),
    ("common.all", "全部", "All"),
    ("common.none", "无", "None"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.edit", "编辑", "Edit"),
    ("common.new", "新建", "New"),
    ("common.prev", "上一页", "Previous"),
    ("common.next", "下一页", "Next"),
    ("common.page", "第 {} 页", "Page {}"),
    ("common.empty", "暂无记录", "Nothing here yet"),
    ("common.no_data", "暂无数据", "No data"),
    ("common.actions", "操作", "Actions"),
    ("common.date", "日期", "Date"),
    ("common.status", "状态", "Status"),
    ("common.note", "备注", "Note"),
    ("common.amount", "金额", "Amount"),
    ("common.kind", "类型", "Type"),
    ("common.store", "门店", "Store"),
    ("common.name", "名称", "Name"),
    ("common.open", "打开", "Open"),
    ("common.back", "返回", "Back"),
    (
        "common.form_errors",
        "请更正标出的字段后再保存。",
        "Please correct the marked fields and save again.",
    ),
    (
        "common.keep_hint",
        "已隐藏；留空则保持不变",
        "hidden; leave empty to keep",
    ),
    ("error.title", "出错了", "Something went wrong"),
    ("error.home", "返回首页", "Back to the start page"),
    (
        "error.csrf",
        "表单已过期或来源不明，请刷新页面后重试。",
        "The form has expired or did not come from this site; reload the page and try again.",
    ),
    (
        "error.bad_request",
        "请求格式不正确",
        "The request is malformed",
    ),
    (
        "error.not_found",
        "未找到该页面，或无权查看",
        "Not found, or not yours to see",
    ),
    ("today.title", "今日待办", "Today's tasks"),
    (
        "today.intro",
        "到期和逾期的任务，最早到期的在前。",
        "Tasks due today or overdue, oldest first.",
    ),
    ("today.task", "任务", "Task"),
    ("today.customer", "客户", "Customer"),
    ("today.due", "到期日", "Due"),
    ("today.overdue", "逾期 {} 天", "{} days overdue"),
    ("today.due_today", "今天到期", "due today"),
    ("today.none", "今天没有待办任务。", "Nothing due today."),
    // ---- after-sales retention (issue 6) ----
    ("nav.calls", "外呼任务", "Calls"),
    ("nav.renewals", "续保名单", "Renewals"),
    ("nav.appointments", "预约到店", "Appointments"),
    ("nav.complaints", "投诉", "Complaints"),
    ("nav.aftersales_kpi", "售后指标", "After-sales KPIs"),
    ("as.calls_title", "外呼任务", "Outbound calls"),
    (
        "as.calls_intro",
        "到期和逾期的保养提醒、续保、回访与关怀电话；点一下记录结果。",
        "Maintenance reminders, renewals, follow-up and care calls due today or overdue; one click records the outcome.",
    ),
    (
        "as.recorded",
        "任务 {} 的结果已记录",
        "Outcome of task {} recorded",
    ),
    ("as.ahead", "提前天数", "Days ahead"),
    ("as.no_calls", "没有待拨打的电话。", "No calls due."),
    ("as.vehicle", "车辆", "Vehicle"),
    ("as.outcome", "结果", "Outcome"),
    ("as.attempts", "已拨 {} 次", "{} tries"),
    ("as.policy_end", "保单到期", "Policy ends"),
    ("as.blocked", "已拒绝联系", "Do not contact"),
    ("as.questionnaire", "回访问卷", "Questionnaire"),
    (
        "as.details",
        "预约日期 / 他处保养 / 备注",
        "Booking date / where serviced / note",
    ),
    ("as.appointment_on", "预约日期", "Appointment date"),
    ("as.slot", "时段", "Time"),
    ("as.place", "保养地点", "Where serviced"),
    ("as.serviced_on", "保养日期", "Serviced on"),
    ("as.this_vehicle_only", "仅此车辆", "This vehicle only"),
    ("as.renewals_title", "续保名单", "Insurance renewals"),
    (
        "as.renewals_intro",
        "即将到期且未续保的保单，按到期日排序。",
        "Policies ending soon and not yet renewed, by end date.",
    ),
    ("as.within_days", "{} 天内到期", "ending within {} days"),
    ("as.no_call_yet", "尚未到外呼日", "no call due yet"),
    ("as.bad_answer", "答案不在选项内", "not one of the answers"),
    ("as.submit_call", "提交回访", "Save the call"),
    ("as.sat5", "非常满意", "Very satisfied"),
    ("as.sat4", "满意", "Satisfied"),
    ("as.sat3", "一般", "Neutral"),
    ("as.sat2", "不满意", "Dissatisfied"),
    ("as.sat1", "非常不满意", "Very dissatisfied"),
    (
        "as.appointments_title",
        "预约与到店",
        "Appointments and arrivals",
    ),
    (
        "as.no_appointments",
        "当天没有预约。",
        "No appointments that day.",
    ),
    ("as.service", "服务项目", "Service"),
    ("as.due_for", "保养到期", "Due for"),
    ("as.campaigns", "召回 / 服务活动", "Recalls / campaigns"),
    ("as.value_risk", "客户价值 / 流失风险", "Value / churn risk"),
    ("as.churn_risk", "流失风险", "churn risk"),
    ("as.service_no", "第 {} 次保养", "service {}"),
    ("as.first_service", "首保", "First service"),
    ("as.arrived", "已到店", "Arrived"),
    ("as.no_show", "爽约", "No-show"),
    ("as.book", "预约", "Book"),
    ("as.vehicle_id", "车辆编号", "Vehicle id"),
    ("as.customer_id", "客户编号", "Customer id"),
    ("as.work_order_id", "工单编号", "Work order id"),
    ("as.next_service", "下次保养", "Next service"),
    ("as.due_km", "到期里程", "Due at"),
    ("as.km_today", "估计当前里程", "Estimated odometer today"),
    ("as.daily_km", "日均里程", "Daily km"),
    ("as.windows", "首保 / 二保", "First / second service"),
    ("as.closes", "窗口关闭", "Window closes"),
    ("as.complaints_title", "投诉看板", "Complaint board"),
    ("as.complaint", "投诉", "Complaint"),
    ("as.channel", "渠道", "Channel"),
    ("as.opened", "受理时间", "Opened"),
    ("as.timers", "时限（工作日）", "Timers (working days)"),
    ("as.close_by", "结案期限", "close by"),
    ("as.new_complaint", "登记投诉", "Register a complaint"),
    (
        "as.opened_by_call",
        "回访得分偏低或有不满意项，已自动登记为投诉。",
        "The follow-up call scored low or had a dissatisfied answer: this complaint was opened automatically.",
    ),
    ("as.resolution", "处理结果", "Resolution"),
    (
        "as.satisfaction",
        "客户对处理的满意度",
        "Customer's satisfaction",
    ),
    ("as.overdue", "已超时", "Overdue"),
    ("as.escalated", "已升级", "Escalated"),
    ("as.step_contact", "已联系客户", "Customer contacted"),
    ("as.step_outcome", "记录处理方案", "Record the outcome"),
    ("as.step_close", "结案", "Close"),
    ("as.kpi_title", "售后指标", "After-sales KPIs"),
    ("as.kpi", "指标", "KPI"),
    ("as.kpi_value", "近 12 个月", "Last 12 months"),
    ("as.kpi_basis", "分子 / 分母", "Numerator / denominator"),
    ("as.kpi_first", "首保回厂率", "First-service return rate"),
    ("as.kpi_second", "二保回厂率", "Second-service return rate"),
    ("as.kpi_renewal", "续保率", "Renewal rate"),
    ("as.kpi_follow_up", "回访成功率", "Follow-up success rate"),
    ("as.kpi_csi", "售后满意度", "Service satisfaction"),
    ("as.kpi_ssi", "销售满意度", "Sales satisfaction"),
    (
        "as.kpi_closure",
        "投诉两周结案率",
        "Complaints closed within two weeks",
    ),
    (
        "as.kpi_closure_by_category",
        "两周结案率（按类别）",
        "Closed within two weeks, by category",
    ),
    (
        "as.kpi_lapsed",
        "流失客户（按门店）",
        "Lapsed owners by store",
    ),
    (
        "as.kpi_csi_by_advisor",
        "服务顾问回访得分（满分 1000）",
        "Follow-up score by service advisor (of 1000)",
    ),
    (
        "as.snapshot",
        "保养预测快照日期",
        "Maintenance prediction as of",
    ),
    ("as.settings_title", "售后提醒设置", "After-sales settings"),
    (
        "as.settings_intro",
        "本店的提醒提前天数、窗口与阈值（JSON）；未列出的项使用默认值。",
        "This store's reminder offsets, windows and thresholds (JSON); keys left out take the defaults.",
    ),
    ("as.saved", "已保存", "Saved"),
    ("as.settings_link", "提醒设置", "Reminder settings"),
    // ---- end of after-sales ----
    ("dash.title", "看板", "Dashboard"),
    ("dash.by_class", "客户分类", "Customers by class"),
    (
        "dash.wo_by_month",
        "近 12 个月维修工单数",
        "Work orders per month (12 months)",
    ),
    (
        "dash.funnel",
        "近 90 天意向客户漏斗",
        "Lead funnel (last 90 days)",
    ),
    (
        "dash.sources",
        "近 90 天意向来源",
        "Lead sources (last 90 days)",
    ),
    (
        "dash.traffic",
        "近 90 天展厅客流（星期 × 小时）",
        "Showroom traffic (last 90 days, weekday × hour)",
    ),
    ("funnel.leads", "新增意向", "New leads"),
    ("funnel.test_driven", "试乘试驾", "Test drives"),
    ("funnel.ordered", "订车", "Ordered"),
    ("funnel.delivered", "交车", "Delivered"),
    ("weekday.0", "周一", "Mon"),
    ("weekday.1", "周二", "Tue"),
    ("weekday.2", "周三", "Wed"),
    ("weekday.3", "周四", "Thu"),
    ("weekday.4", "周五", "Fri"),
    ("weekday.5", "周六", "Sat"),
    ("weekday.6", "周日", "Sun"),
    ("customers.title", "客户", "Customers"),
    (
        "customers.search_placeholder",
        "姓名、手机号、车牌号或车架号",
        "Name, mobile, plate or VIN",
    ),
    ("customers.class", "客户分类", "Class"),
    ("customers.kind", "客户类型", "Customer type"),
    ("customers.consultant", "销售顾问", "Consultant"),
    ("customers.sort", "排序", "Sort"),
    ("sort.newest", "最新创建", "Newest"),
    ("sort.name", "姓名", "Name"),
    ("sort.recently_updated", "最近更新", "Recently updated"),
    ("customers.new", "新建客户", "New customer"),
    ("customers.export_csv", "导出 CSV", "Export CSV"),
    ("customers.export_xlsx", "导出 Excel", "Export Excel"),
    ("customers.updated", "更新时间", "Updated"),
    (
        "customers.none",
        "没有符合条件的客户。",
        "No customer matches.",
    ),
    ("c360.profile", "基本信息", "Profile"),
    ("c360.class", "客户分类", "Class"),
    ("c360.class_why", "分类依据", "Why"),
    ("c360.reveal", "查看完整号码", "Reveal full numbers"),
    (
        "c360.reveal_note",
        "查看完整手机号和证件号会记录到审计日志。",
        "Revealing the full mobile and ID number is written to the audit log.",
    ),
    (
        "c360.revealed",
        "已显示完整信息（已记入审计日志）",
        "Full data shown (written to the audit log)",
    ),
    ("c360.assignments", "顾问分配历史", "Consultant assignments"),
    ("c360.vehicles", "车辆", "Vehicles"),
    ("c360.add_vehicle", "添加车辆", "Add vehicle"),
    ("c360.odometer", "里程记录", "Odometer history"),
    ("c360.timeline", "时间线", "Timeline"),
    ("c360.sales", "销售订单", "Sales orders"),
    ("c360.work_orders", "维修工单", "Work orders"),
    ("c360.lines", "明细", "Lines"),
    ("c360.policies", "保险保单", "Insurance policies"),
    ("c360.leads", "意向", "Leads"),
    ("c360.contacts", "联系记录", "Contacts"),
    ("c360.tasks", "任务", "Tasks"),
    ("c360.complaints", "投诉", "Complaints"),
    ("c360.surveys", "回访问卷", "Survey answers"),
    ("c360.company_contacts", "联系人", "Contact persons"),
    ("c360.relations", "关系", "Relations"),
    ("c360.consents", "授权记录", "Consents"),
    ("c360.owned", "拥有期间", "Owned"),
    ("c360.since", "起", "since"),
    ("f.kind", "客户类型", "Customer type"),
    ("f.name", "姓名/名称", "Name"),
    ("f.title", "称谓", "Title"),
    ("f.gender", "性别", "Gender"),
    ("f.id_type", "证件类型", "ID type"),
    ("f.id_number", "证件号码", "ID number"),
    ("f.birthday", "生日", "Birthday"),
    ("f.lunar_birthday", "农历生日", "Lunar birthday"),
    ("f.mobile", "手机号", "Mobile"),
    ("f.other_phones", "其他电话", "Other phones"),
    ("f.email", "电子邮箱", "E-mail"),
    ("f.address", "地址", "Address"),
    ("f.industry", "行业", "Industry"),
    ("f.occupation", "职业", "Occupation"),
    ("f.source", "来源", "Source"),
    ("f.vip", "VIP", "VIP"),
    ("f.consultant_id", "销售顾问", "Consultant"),
    ("f.store_id", "门店", "Store"),
    ("f.created_at", "创建时间", "Created"),
    ("f.vin", "车架号(VIN)", "VIN"),
    ("f.plate", "车牌号", "Plate"),
    ("f.model_id", "车型", "Model"),
    ("f.colour", "颜色", "Colour"),
    ("f.model_year", "年款", "Model year"),
    ("f.engine_no", "发动机号", "Engine number"),
    ("f.purchase_date", "购车日期", "Purchase date"),
    ("f.invoice_date", "开票日期", "Invoice date"),
    ("f.delivery_date", "交车日期", "Delivery date"),
    ("f.own_sold", "本店销售", "Sold by this store"),
    ("f.warranty_end_date", "质保截止日期", "Warranty ends"),
    ("f.warranty_end_km", "质保截止里程", "Warranty km"),
    (
        "f.compulsory_insurance_end",
        "交强险到期",
        "Compulsory insurance ends",
    ),
    (
        "f.commercial_insurance_end",
        "商业险到期",
        "Commercial insurance ends",
    ),
    ("f.inspection_due", "年检到期", "Inspection due"),
    ("f.km", "里程(公里)", "km"),
    ("f.source_of_reading", "来源", "Source"),
    ("f.number", "单号", "Number"),
    ("f.opened_on", "开单日期", "Opened"),
    ("f.odometer_km", "进厂里程", "Odometer"),
    ("f.paid_by", "付款方", "Paid by"),
    ("f.code", "编码", "Code"),
    ("f.quantity", "数量", "Qty"),
    ("f.insurer", "保险公司", "Insurer"),
    ("f.policy_no", "保单号", "Policy number"),
    ("f.period", "保险期间", "Period"),
    ("f.premium", "保费", "Premium"),
    ("f.grade", "意向级别", "Grade"),
    ("f.lead_source", "来源渠道", "Source"),
    ("f.next_follow_up", "下次跟进", "Next follow-up"),
    ("f.owner", "负责顾问", "Owner"),
    ("f.channel", "方式", "Channel"),
    ("f.outcome", "结果", "Outcome"),
    ("f.category", "类别", "Category"),
    ("f.severity", "严重程度", "Severity"),
    ("f.description", "描述", "Description"),
    ("f.score", "评分(服务/产品)", "Score (service/product)"),
    ("f.comment", "意见", "Comment"),
    ("f.purpose", "用途", "Purpose"),
    ("f.price", "价格", "Price"),
    ("f.ordered_on", "订车日期", "Ordered"),
    ("f.delivered_on", "交车日期", "Delivered"),
    ("f.position", "职务", "Position"),
    ("f.login", "登录名", "Login"),
    ("f.role", "角色", "Role"),
    ("f.active", "启用", "Active"),
    ("f.password", "密码", "Password"),
    ("f.city", "城市", "City"),
    ("f.brand_id", "品牌", "Brand"),
    ("f.store_code", "门店编码", "Store code"),
    ("customer.new_title", "新建客户", "New customer"),
    ("customer.edit_title", "编辑客户", "Edit customer"),
    ("vehicle.new_title", "添加车辆", "Add vehicle"),
    ("vehicle.edit_title", "编辑车辆", "Edit vehicle"),
    (
        "vehicle.plate_hint",
        "未上牌可填“无牌照”或留空",
        "Leave empty or 无牌照 if not yet registered",
    ),
    ("leads.title", "意向客户", "Leads"),
    ("lead.title", "意向", "Lead"),
    ("lead.customer", "客户", "Customer"),
    ("lead.created", "创建时间", "Created"),
    ("lead.test_drives", "试乘试驾", "Test drives"),
    ("lead.defeats", "战败申请", "Defeat requests"),
    ("admin.users", "用户与角色", "Users and roles"),
    ("admin.new_user", "新建用户", "New user"),
    ("admin.edit_user", "编辑用户", "Edit user"),
    ("admin.reset_password", "重置密码", "Reset password"),
    (
        "admin.password_reset_done",
        "密码已重置，该用户需重新登录。",
        "Password reset; the user must sign in again.",
    ),
    ("admin.saved", "已保存", "Saved"),
    ("admin.stores", "门店", "Stores"),
    ("admin.new_store", "新建门店", "New store"),
    ("admin.edit_store", "编辑门店", "Edit store"),
    ("admin.group_wide", "集团（不属于门店）", "Group (no store)"),
    ("admin.scope", "可见范围", "Sees"),
    ("scope.own", "本人的客户与意向", "own customers and leads"),
    ("scope.store", "本门店", "the store"),
    ("scope.group", "集团全部门店", "every store of the group"),
    ("audit.title", "审计日志", "Audit log"),
    ("audit.who", "操作人(登录名)", "Who (login)"),
    ("audit.action", "操作", "Action"),
    ("audit.entity", "对象", "Entity"),
    ("audit.entity_id", "对象编号", "Entity id"),
    ("audit.from", "起始日期", "From"),
    ("audit.to", "截止日期", "To"),
    ("audit.at", "时间", "Time"),
    ("audit.detail", "详情", "Detail"),
    ("gender.male", "男", "Male"),
    ("gender.female", "女", "Female"),
];

/// The label for a key; an unknown key shows itself, so a missing label is visible
/// (and the unit test below catches it first).
pub fn t(key: &str, lang: Lang) -> &str {
    DICT.iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| match lang {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
        .unwrap_or(key)
}

/// The label of an enumeration code; unknown codes are shown as stored.
pub fn code(kind: &str, value: &str, lang: Lang) -> String {
    fn l<T: Copy>(
        r: Result<T, dealerbase_domain::ValidationError>,
        f: impl Fn(T) -> &'static str,
        raw: &str,
    ) -> String {
        r.map(f)
            .map(str::to_string)
            .unwrap_or_else(|_| raw.to_string())
    }
    match kind {
        "role" => l(Role::parse("", value), |x| x.label(lang), value),
        "class" => l(CustomerClass::parse("", value), |x| x.label(lang), value),
        "customer_kind" => l(CustomerKind::parse("", value), |x| x.label(lang), value),
        "grade" => l(LeadGrade::parse("", value), |x| x.label(lang), value),
        "lead_status" => l(LeadStatus::parse("", value), |x| x.label(lang), value),
        "lead_source" => l(LeadSource::parse("", value), |x| x.label(lang), value),
        "channel" => l(ContactChannel::parse("", value), |x| x.label(lang), value),
        "direction" => l(Direction::parse("", value), |x| x.label(lang), value),
        "outcome" => l(ContactOutcome::parse("", value), |x| x.label(lang), value),
        "task_kind" => l(TaskKind::parse("", value), |x| x.label(lang), value),
        "task_status" => l(TaskStatus::parse("", value), |x| x.label(lang), value),
        "work_order_kind" => l(WorkOrderKind::parse("", value), |x| x.label(lang), value),
        "paid_by" => l(PaidBy::parse("", value), |x| x.label(lang), value),
        "line_kind" => l(LineKind::parse("", value), |x| x.label(lang), value),
        "policy_kind" => l(PolicyKind::parse("", value), |x| x.label(lang), value),
        "relation" => l(RelationKind::parse("", value), |x| x.label(lang), value),
        "sales_kind" => l(SalesOrderKind::parse("", value), |x| x.label(lang), value),
        "sales_status" => l(SalesOrderStatus::parse("", value), |x| x.label(lang), value),
        "consent" => l(ConsentPurpose::parse("", value), |x| x.label(lang), value),
        "complaint_status" => l(ComplaintStatus::parse("", value), |x| x.label(lang), value),
        "gender" => Gender::parse(value)
            .map(|g| g.label(lang).to_string())
            .unwrap_or_else(|| value.to_string()),
        "id_type" => IdType::from_code(value)
            .map(|g| g.label(lang).to_string())
            .unwrap_or_else(|| value.to_string()),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, zh, en) in DICT {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut sources: Vec<String> = std::fs::read_dir(dir)
            .expect("templates")
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/html");
        for e in std::fs::read_dir(src).expect("src").flatten() {
            sources.push(std::fs::read_to_string(e.path()).unwrap_or_default());
        }
        let mut missing = Vec::new();
        for s in &sources {
            for part in s.split("t(\"").skip(1) {
                if let Some((key, _)) = part.split_once('"')
                    && key.contains('.')
                    && !key.contains(' ')
                    && !DICT.iter().any(|(k, _, _)| *k == key)
                {
                    missing.push(key.to_string());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "labels missing from the dictionary: {missing:?}"
        );
    }

    #[test]
    fn codes_get_labels() {
        assert_eq!(code("grade", "H", Lang::Zh), "H级(7天内)");
        assert_eq!(code("role", "admin", Lang::En), "Administrator");
        assert_eq!(code("gender", "female", Lang::Zh), "女");
        assert_eq!(code("class", "???", Lang::Zh), "???");
    }
}
