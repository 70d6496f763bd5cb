//! Application services: what the web app, the JSON API, the CLI and background jobs do,
//! written once. Each call takes the acting staff member ([`Actor`]); scope is passed down
//! to the store queries, so a consultant cannot read another consultant's customer by id.
//!
//! Architecture invariant: no HTTP and no terminal here; no SQL either (that is the store's).

pub mod admin;
pub mod aftersales;
pub mod auth;
pub mod campaign_results;
pub mod customer360;
pub mod export;
pub mod import;
pub mod input;
pub mod jobs;
pub mod loyalty;
pub mod management;
pub mod marketing;
pub mod merge;
pub mod messaging;
pub mod mining;
pub mod mining_views;
pub mod records;
pub mod sales;
pub mod session;

use dealerbase_domain::model::{Role, ScopeLevel};
use dealerbase_domain::{Clock, Lang, ValidationError};
use dealerbase_store::{Db, Id, Scope, StoreError};
use serde::Serialize;
use std::sync::Arc;

/// The staff member on whose behalf a service call runs.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub staff_id: Id,
    pub group_id: Id,
    pub store_id: Option<Id>,
    pub role: Role,
    pub login: String,
    pub name: String,
}

impl Actor {
    /// The rows this actor may read. A store-bound role without a store sees nothing of
    /// any store (scope on store 0, which never exists).
    pub fn scope(&self) -> Scope {
        match self.role.scope_level() {
            ScopeLevel::Group => Scope::Group {
                group_id: self.group_id,
            },
            ScopeLevel::Store => Scope::Store {
                store_id: self.store_id.unwrap_or(0),
            },
            ScopeLevel::Own => Scope::Own {
                store_id: self.store_id.unwrap_or(0),
                staff_id: self.staff_id,
            },
        }
    }

    pub fn from_staff(s: &dealerbase_store::Staff) -> Result<Actor, ServiceError> {
        let role = Role::parse("role", &s.role).map_err(|_| {
            ServiceError::Internal(format!("staff {} has unknown role {}", s.id, s.role))
        })?;
        Ok(Actor {
            staff_id: s.id,
            group_id: s.group_id,
            store_id: s.store_id,
            role,
            login: s.login.clone(),
            name: s.name.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ValidationError>),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("{field} {value:?} already exists")]
    Conflict { field: &'static str, value: String },
    #[error("not signed in")]
    Unauthenticated,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(e: ValidationError) -> ServiceError {
        ServiceError::Invalid(vec![e])
    }

    /// Stable machine code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(errors) => errors.first().map_or("invalid", |e| e.code()),
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Conflict { .. } => "conflict",
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::Internal(_) => "internal",
        }
    }

    /// A message for people, in their language. Internal details are never shown.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (ServiceError::Invalid(errors), _) => errors
                .iter()
                .map(|e| e.message(lang))
                .collect::<Vec<_>>()
                .join("; "),
            (ServiceError::NotFound { entity, id }, Lang::Zh) => {
                format!("未找到{}（{id}），或无权查看", entity_zh(entity))
            }
            (ServiceError::NotFound { entity, id }, Lang::En) => {
                format!("{entity} {id} not found, or not yours to see")
            }
            (ServiceError::Forbidden(what), Lang::Zh) => {
                format!("无权操作：{}", forbidden_zh(what))
            }
            (ServiceError::Forbidden(what), Lang::En) => format!("not allowed: {what}"),
            (ServiceError::Conflict { field, value }, Lang::Zh) => {
                format!("{}「{value}」已存在", entity_zh(field))
            }
            (ServiceError::Conflict { field, value }, Lang::En) => {
                format!("{field} {value:?} already exists")
            }
            (ServiceError::Unauthenticated, Lang::Zh) => "请先登录".into(),
            (ServiceError::Unauthenticated, Lang::En) => "please sign in".into(),
            (ServiceError::Internal(_), Lang::Zh) => "系统内部错误，已记录，请稍后再试".into(),
            (ServiceError::Internal(_), Lang::En) => {
                "internal error; it has been logged, please try again".into()
            }
        }
    }

    /// The field the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid(errors) => errors.first().map(|e| e.field.as_str()),
            ServiceError::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn entity_zh(e: &str) -> &str {
    match e {
        "customer" => "客户",
        "vehicle" => "车辆",
        "lead" => "意向",
        "work order" => "工单",
        "vin" => "车架号",
        "number" => "工单号",
        "login" => "登录名",
        "store" => "门店",
        "staff" => "员工",
        "vehicle model" => "车型",
        "visit" => "来店登记",
        "sales order" => "订单",
        "test drive" => "试驾",
        "invitation" => "邀约",
        "defeat request" => "战败申请",
        "daily report" => "营业日报",
        "task" => "待办",
        "open task" => "待办",
        "import run" => "导入任务",
        "segment" => "客户分群",
        "campaign" => "营销活动",
        "message" => "消息",
        "unsubscribe link" => "退订链接（无效或已被篡改）",
        "suppression" => "免打扰名单条目",
        other => other,
    }
}

fn forbidden_zh(what: &str) -> &str {
    match what {
        "reveal personal data" => "查看完整个人信息",
        "write to another store" => "操作其他门店的数据",
        "manage users" => "管理用户",
        "change store settings" => "修改门店设置",
        "manage questionnaires" => "管理回访问卷",
        "import data" => "导入数据",
        "merge customers" => "合并客户",
        "remove the last administrator" => "停用或降级最后一名管理员",
        "csrf" => "表单已过期或来源不明，请刷新页面后重试",
        "mining results" => "查看客户数据挖掘结果",
        "start a mining run" => "启动数据挖掘",
        // showroom and leads
        "sales operations" => "销售业务操作",
        "reassign leads" => "分配意向客户",
        "claim leads from the pool" => "从公海领取意向客户",
        "approve defeats" => "审批战败",
        "submit daily reports" => "提交营业日报",
        "sign daily reports" => "签核营业日报",
        // management
        "group figures" => "查看集团或品牌汇总数据",
        "store figures" => "查看门店汇总数据",
        "enter operating costs" => "录入运营费用",
        "set targets" => "设定目标",
        // loyalty
        "adjust loyalty points" => "人工调整积分",
        // marketing
        "marketing" => "使用客户分群与营销活动",
        // messaging
        "message outbox" => "管理消息发件箱和免打扰名单",
        other => other,
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::NotFound { entity, id } => ServiceError::NotFound { entity, id },
            StoreError::Conflict { field, value } => ServiceError::Conflict { field, value },
            StoreError::MissingReference { field, value } => ServiceError::NotFound {
                entity: field,
                id: value,
            },
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Everything a service call needs: the database and the clock.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// Message transports and secrets (`messaging.rs`); none by default.
    pub messaging: Arc<messaging::MessagingConfig>,
}

impl Services {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Services {
        Services {
            db,
            clock,
            messaging: Arc::default(),
        }
    }

    /// Checks that the actor may write into a store: group roles anywhere in their group,
    /// everyone else only in their own store.
    pub(crate) async fn check_store_access(&self, actor: &Actor, store_id: Id) -> Result<()> {
        let store = self
            .db
            .store(store_id)
            .await
            .map_err(|_| ServiceError::NotFound {
                entity: "store",
                id: store_id.to_string(),
            })?;
        let ok = match actor.role.scope_level() {
            ScopeLevel::Group => store.group_id == actor.group_id,
            _ => actor.store_id == Some(store_id),
        };
        if ok {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("write to another store"))
        }
    }
}
