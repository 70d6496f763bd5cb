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
    // ---- mining (issue 7): dashboard, target lists, scores on the 360 page ----
    ("nav.mining", "数据挖掘", "Mining"),
    ("mining.title", "客户数据挖掘", "Customer mining"),
    ("mining.target_list", "营销目标名单", "Campaign target list"),
    ("mining.run_now", "立即运行挖掘", "Run mining now"),
    (
        "mining.run_started",
        "挖掘已在后台启动，约一分钟后刷新本页查看结果。",
        "Mining started in the background; refresh this page in about a minute.",
    ),
    (
        "mining.run_done_today",
        "今天的挖掘结果已经生成。",
        "Today's snapshot exists already.",
    ),
    (
        "mining.run_running",
        "挖掘正在运行中，完成后结果会显示在这里。",
        "A mining run is under way; its results show here when it finishes.",
    ),
    ("mining.whole_group", "全集团", "Whole group"),
    ("mining.as_of", "数据截至", "Snapshot of"),
    (
        "mining.scored_note",
        "只统计至少有一次售后回厂记录的客户（不含PDI）。",
        "Only customers with at least one service visit (PDI excluded) are scored.",
    ),
    ("mining.scored_customers", "已评分客户", "Scored customers"),
    ("mining.revenue", "售后消费总额", "Service revenue"),
    ("mining.clv_sum", "未来12个月客户价值(CLV)", "12-month CLV"),
    ("mining.mean_p_alive", "平均存活概率", "Mean P(alive)"),
    (
        "mining.high_risk",
        "高流失风险(≥50%)",
        "High churn risk (≥50%)",
    ),
    ("mining.segments", "RFM客户分群", "RFM segments"),
    ("mining.segment", "分群", "Segment"),
    ("mining.customers", "客户数", "Customers"),
    ("mining.revenue_share", "收入占比", "Revenue share"),
    ("mining.pyramid", "客户价值金字塔", "Value pyramid"),
    ("mining.tier", "价值等级", "Value tier"),
    ("mining.pareto", "帕累托表", "Pareto table"),
    ("mining.top_customers", "收入最高的前", "Top customers"),
    ("mining.lorenz", "洛伦兹曲线", "Lorenz curve"),
    (
        "mining.customer_share",
        "客户累计占比",
        "Cumulative share of customers",
    ),
    ("mining.equality", "完全平均线", "Equality line"),
    (
        "mining.months_after_delivery",
        "交车后月数",
        "Months after delivery",
    ),
    (
        "mining.retention_1",
        "首保回厂留存（交车后）",
        "Return for the 1st service (after delivery)",
    ),
    (
        "mining.retention_2",
        "第二次保养回厂留存",
        "Return for the 2nd service",
    ),
    (
        "mining.retention_3",
        "第三次保养回厂留存",
        "Return for the 3rd service",
    ),
    (
        "mining.return_curve",
        "上次回厂后尚未再回厂的比例",
        "Owners not yet back since their last visit",
    ),
    ("mining.not_yet_returned", "尚未回厂", "Not yet back"),
    (
        "mining.months_since_visit",
        "距上次回厂月数",
        "Months since the last visit",
    ),
    (
        "mining.critical_point",
        "流失临界点(月)",
        "Churn critical point (months)",
    ),
    (
        "mining.churn_distribution",
        "流失风险分布",
        "Churn-risk distribution",
    ),
    (
        "mining.churn_model",
        "流失风险模型质量",
        "Churn model quality",
    ),
    (
        "mining.group_level_note",
        "（集团层面：模型与规则用全集团的历史训练）",
        "(group level: trained on the whole group's history)",
    ),
    ("mining.auc", "AUC(模型)", "AUC (model)"),
    (
        "mining.recency_auc",
        "AUC(仅按距上次回厂时间)",
        "AUC (recency alone)",
    ),
    (
        "mining.p_alive_auc",
        "AUC(BG/NBD存活概率)",
        "AUC (BG/NBD P(alive))",
    ),
    ("mining.brier", "Brier分数", "Brier score"),
    ("mining.base_rate", "实际流失率", "Observed churn rate"),
    ("mining.test_cutoff", "检验时点", "Test cut-off"),
    ("mining.test_rows", "检验客户数", "Customers in the test"),
    ("mining.calibration", "校准表", "Calibration table"),
    ("mining.bin", "分组", "Bin"),
    ("mining.predicted", "预测", "Predicted"),
    ("mining.observed", "实际", "Observed"),
    (
        "mining.trade_in_model",
        "置换倾向验证",
        "Trade-in propensity validation",
    ),
    (
        "mining.trade_in_note",
        "以一年前的数据预测，对照此后一年内是否真的再次购车。",
        "Predicted from the data of a year ago and checked against who did buy again within the year.",
    ),
    (
        "mining.bought_again_rate",
        "实际再购率",
        "Observed repurchase rate",
    ),
    ("mining.bought_again", "实际再购", "Bought again"),
    (
        "mining.campaign_response",
        "营销响应率（按距上次回厂月数）",
        "Campaign response by months since last visit",
    ),
    (
        "mining.response_note",
        "营销触达：营销、挖掘名单与流失招揽的外呼联系；响应：触达当天起{}天内有回厂工单。",
        "Touches: outbound marketing, call-list and win-back contacts; a response is a service visit within {} days from the touch.",
    ),
    (
        "mining.no_touches",
        "暂无营销触达记录",
        "No campaign touches yet",
    ),
    ("mining.contacted", "触达", "Contacted"),
    ("mining.responded", "响应", "Responded"),
    ("mining.response_rate", "响应率", "Response rate"),
    ("mining.rules", "交叉销售规则", "Cross-sell rules"),
    ("mining.if_bought", "购买了", "If bought"),
    ("mining.then_offer", "推荐", "Offer"),
    ("mining.support", "支持度", "Support"),
    ("mining.confidence", "置信度", "Confidence"),
    ("mining.lift", "提升度", "Lift"),
    ("mining.loyalty", "客户忠诚度矩阵", "Loyalty matrix"),
    (
        "mining.loyalty_note",
        "按每位客户最近一次同时评价产品与服务的问卷（4分及以上为满意）。",
        "From each customer's latest survey rating both product and service (4 or more is satisfied).",
    ),
    ("mining.product_satisfied", "产品满意", "Product satisfied"),
    (
        "mining.product_unsatisfied",
        "产品不满意",
        "Product unsatisfied",
    ),
    ("mining.service_satisfied", "服务满意", "Service satisfied"),
    (
        "mining.service_unsatisfied",
        "服务不满意",
        "Service unsatisfied",
    ),
    ("mining.no_run", "还没有挖掘结果", "No mining results yet"),
    (
        "mining.how_to_run",
        "挖掘结果每天夜间自动计算；也可以在服务器上运行下面的命令，或由管理员点击“立即运行挖掘”。",
        "Results are computed every night; or run the command below on the server, or an administrator clicks “Run mining now”.",
    ),
    (
        "mining.min_churn",
        "流失风险至少(%)",
        "Churn risk at least (%)",
    ),
    (
        "mining.min_trade_in",
        "置换倾向至少(%)",
        "Trade-in propensity at least (%)",
    ),
    ("mining.churn_risk", "流失风险", "Churn risk"),
    ("mining.churn_reasons", "主要原因", "Top reasons"),
    ("mining.trade_in", "置换倾向", "Trade-in propensity"),
    ("mining.consent", "营销同意", "Marketing consent"),
    (
        "mining.no_scored",
        "没有符合条件的客户",
        "No customers match",
    ),
    (
        "mining.create_call_list",
        "生成外呼名单",
        "Create call list",
    ),
    (
        "mining.call_list_hint",
        "为名单中每位客户生成一条外呼任务；没有营销授权或要求不再联系的客户不会生成；同一客户在同一批挖掘结果中只生成一次。",
        "One call task per customer of the list; customers without marketing consent or who asked not to be contacted are left out; a customer gets one task per snapshot.",
    ),
    ("mining.assignee", "由谁外呼", "Who calls"),
    (
        "mining.own_consultant",
        "各客户的销售顾问",
        "Each customer's consultant",
    ),
    ("mining.due_on", "截止日期", "Due on"),
    (
        "mining.call_list_done",
        "外呼名单已生成",
        "Call list created",
    ),
    ("mining.created", "新建任务", "tasks created"),
    ("mining.already_listed", "已在名单中", "already listed"),
    ("mining.no_consent", "无营销授权", "no marketing consent"),
    ("mining.do_not_contact", "拒绝联系", "do not contact"),
    ("mining.no_assignee", "无负责人", "no one to call"),
    ("mining.other_store", "其他门店", "other store"),
    (
        "mining.truncated",
        "名单过长，只处理了前5000位",
        "list cut at the first 5,000",
    ),
    ("c360.scores", "客户价值与流失风险", "Value and churn risk"),
    (
        "c360.scores_none",
        "该客户还没有挖掘评分（没有售后回厂记录，或尚未运行挖掘）。",
        "No scores for this customer (no service visit, or mining has not run yet).",
    ),
    ("c360.rfm", "RFM评分", "RFM scores"),
    ("c360.p_alive", "存活概率", "P(alive)"),
    (
        "c360.expected_visits",
        "未来12个月预计回厂",
        "Expected visits, next 12 months",
    ),
    ("c360.clv", "未来12个月客户价值", "12-month CLV"),
    ("c360.recency", "距上次回厂", "Since last visit"),
    ("c360.days", "天", "days"),
    ("c360.visits", "回厂次数", "Visits"),
    ("c360.spend", "累计消费", "Spend"),
    ("c360.cross_sell", "交叉销售推荐", "Cross-sell offers"),
    ("c360.cross_sell_basket", "依据本次工单", "From the visit"),
    ("c360.no_offers", "暂无推荐", "No offers"),
    // ---- end of mining ----
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
