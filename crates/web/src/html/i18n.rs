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
    // ---- imports, merges, exports (issue 4) ----
    ("nav.imports", "数据导入", "Imports"),
    ("import.title", "数据导入", "Import data"),
    ("import.kind", "数据类型", "Kind of file"),
    ("import.file", "文件", "File"),
    (
        "import.file_hint",
        "CSV（UTF-8 或 GBK）或 Excel（.xlsx）；列名按常用中英文表头识别",
        "CSV (UTF-8 or GBK) or Excel (.xlsx); columns are recognised by their usual Chinese or English headers",
    ),
    (
        "import.sheet",
        "工作表（留空为第一个）",
        "Sheet (empty: the first)",
    ),
    (
        "import.mapping",
        "列映射文件（可选）",
        "Column mapping file (optional)",
    ),
    (
        "import.mapping_hint",
        "TOML：[columns] \"表头\" = \"字段\"",
        "TOML: [columns] \"header\" = \"field\"",
    ),
    ("import.mode", "方式", "Mode"),
    (
        "import.mode_write",
        "导入有效行，报告错误行",
        "Import valid rows, report rejected ones",
    ),
    (
        "import.mode_dry_run",
        "仅检查，不写入",
        "Check only, write nothing",
    ),
    (
        "import.mode_all_or_nothing",
        "有错误行则全部不写入",
        "Write nothing if any row is rejected",
    ),
    ("import.start", "开始导入", "Start import"),
    ("import.recent", "最近的导入", "Recent imports"),
    ("import.run_title", "导入任务", "Import"),
    ("import.status.queued", "排队中", "Queued"),
    ("import.status.running", "导入中", "Running"),
    ("import.status.done", "已完成", "Done"),
    (
        "import.status.refused",
        "未写入（有错误行）",
        "Not written (rows rejected)",
    ),
    ("import.status.failed", "失败", "Failed"),
    ("import.status.interrupted", "已中断", "Interrupted"),
    ("import.rows_done", "已处理行数", "Rows processed"),
    (
        "import.refreshing",
        "页面每 2 秒自动刷新",
        "this page refreshes every 2 seconds",
    ),
    (
        "import.refused",
        "有错误行，按“全部或不写入”方式未写入任何数据。请下载错误报告修正后重新导入。",
        "Rows were rejected, so nothing was written (all-or-nothing). Download the report, fix the rows and import again.",
    ),
    (
        "import.dry_note",
        "仅检查：没有写入任何数据，统计为正式导入时的结果。",
        "Check only: nothing was written; the counts are what an import would do.",
    ),
    ("import.encoding", "文件编码", "Encoding"),
    ("import.read", "读取行数", "Rows read"),
    ("import.inserted", "新增", "Inserted"),
    ("import.updated", "更新", "Updated"),
    ("import.unchanged", "未变化", "Unchanged"),
    ("import.merged", "文件内合并", "Merged within the file"),
    ("import.rejected", "拒绝", "Rejected"),
    ("import.customers_created", "新建客户", "Customers created"),
    (
        "import.unknown_columns",
        "未识别的列（未导入）",
        "Unknown columns (not imported)",
    ),
    (
        "import.report",
        "下载错误报告",
        "Download the report of rejected rows",
    ),
    ("import.started", "开始时间", "Started"),
    ("merge.title", "合并客户", "Merge customers"),
    ("merge.action", "合并到此客户…", "Merge into this customer…"),
    (
        "merge.intro",
        "查找要并入当前客户的重复客户。合并后，其车辆、订单、工单、保单、意向、联系记录、任务、授权等全部转到当前客户，被合并的客户不再出现在列表中。",
        "Find the duplicate to merge into this customer. Its vehicles, orders, work orders, policies, leads, contacts, tasks, consents and the rest move here, and it disappears from lists.",
    ),
    ("merge.preview", "合并预览", "Preview"),
    ("merge.fields", "字段取值", "Field values"),
    ("merge.field", "字段", "Field"),
    ("merge.survivor_value", "当前客户", "This customer"),
    ("merge.merged_value", "被合并客户", "Merged customer"),
    ("merge.result", "合并后", "After the merge"),
    (
        "merge.no_field_changes",
        "字段取值相同",
        "The field values are the same",
    ),
    ("merge.moves", "转移的记录", "Records that move"),
    (
        "merge.nothing_moves",
        "没有需要转移的记录",
        "Nothing to move",
    ),
    ("merge.confirm", "确认合并", "Merge"),
    ("merge.list_title", "客户合并记录", "Customer merges"),
    ("merge.done", "合并已完成（记录 {}）", "Merged (record {})"),
    ("merge.survivor", "保留的客户", "Kept customer"),
    ("merge.merged", "被合并的客户", "Merged customer"),
    (
        "merge.merged_into",
        "此客户已合并到",
        "This customer was merged into",
    ),
    ("merge.table.vehicle_ownership", "车辆", "Vehicles"),
    ("merge.table.sales_order", "销售订单", "Sales orders"),
    ("merge.table.work_order", "维修工单", "Work orders"),
    ("merge.table.insurance_policy", "保单", "Policies"),
    ("merge.table.lead", "意向", "Leads"),
    ("merge.table.showroom_visit", "来店记录", "Showroom visits"),
    ("merge.table.contact", "联系记录", "Contacts"),
    ("merge.table.task", "任务", "Tasks"),
    ("merge.table.complaint", "投诉", "Complaints"),
    ("merge.table.survey_response", "回访问卷", "Survey answers"),
    ("merge.table.consent", "授权记录", "Consents"),
    (
        "merge.table.company_contact",
        "公司联系人",
        "Company contacts",
    ),
    ("merge.table.customer_relation", "客户关系", "Relations"),
    (
        "merge.table.customer_assignment",
        "顾问分配历史",
        "Consultant history",
    ),
    ("f.province_code", "省份代码", "Province code"),
    ("f.city_code", "城市代码", "City code"),
    ("f.district_code", "区县代码", "District code"),
    ("f.marital_status", "婚姻状况", "Marital status"),
    ("f.income_band", "收入水平", "Income band"),
    ("f.education", "学历", "Education"),
    ("f.interests", "兴趣爱好", "Interests"),
    ("f.key_account", "大客户", "Key account"),
    ("export.csv", "导出 CSV", "Export CSV"),
    ("export.xlsx", "导出 Excel", "Export Excel"),
    (
        "export.reveal",
        "导出（含完整手机号）",
        "Export with full mobiles",
    ),
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
