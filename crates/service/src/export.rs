//! Exports of lists to CSV and XLSX with the list's filters. The rows come from the same
//! service calls as the list pages, so they are scoped and masked the same way; cells that
//! a spreadsheet would read as a formula are neutralised; every export is audited.

use crate::records::CustomerQuery;
use crate::{Actor, Result, ServiceError, Services};
use dealerbase_domain::model::{CustomerClass, CustomerKind};
use dealerbase_domain::{Lang, Rule, ValidationError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            _ => Err(ServiceError::invalid(ValidationError::new(
                "format",
                s,
                Rule::OneOf {
                    allowed: vec!["csv".into(), "xlsx".into()],
                },
            ))),
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// A cell a spreadsheet would evaluate (`= + - @`, and tab or carriage return, which some
/// spreadsheets strip before evaluating) gets a leading apostrophe, so it stays text.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// A table: headers and text rows, already neutralised.
pub(crate) struct Table {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

pub(crate) fn write_table(t: &Table, format: ExportFormat, out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| ServiceError::Internal(format!("writing the export: {e}"));
    match format {
        ExportFormat::Csv => {
            // A BOM so that Excel opens UTF-8 Chinese text correctly.
            out.write_all("\u{feff}".as_bytes()).map_err(io)?;
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&t.headers)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            for r in &t.rows {
                w.write_record(r)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
            }
            w.flush().map_err(io)?;
        }
        ExportFormat::Xlsx => {
            let xl = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(e.to_string());
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (c, h) in t.headers.iter().enumerate() {
                sheet.write_string(0, c as u16, *h).map_err(xl)?;
            }
            for (r, row) in t.rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    // Always strings: a value is never turned into a formula or a number.
                    sheet
                        .write_string(r as u32 + 1, c as u16, v.as_str())
                        .map_err(xl)?;
                }
            }
            let bytes = book.save_to_buffer().map_err(xl)?;
            out.write_all(&bytes).map_err(io)?;
        }
    }
    Ok(())
}

/// The most rows one export holds (a spreadsheet's limit is 1,048,576).
pub const MAX_EXPORT_ROWS: usize = 1_000_000;

impl Services {
    /// The customer list with the given filters (every page), masked as on the list page,
    /// written as CSV or XLSX. Returns the number of rows.
    pub async fn export_customers(
        &self,
        actor: &Actor,
        query: &CustomerQuery,
        format: ExportFormat,
        lang: Lang,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let headers = match lang {
            Lang::Zh => vec![
                "客户编号",
                "客户姓名",
                "手机",
                "客户类型",
                "客户级别",
                "门店",
                "销售顾问",
                "更新时间",
            ],
            Lang::En => vec![
                "id",
                "name",
                "mobile",
                "kind",
                "class",
                "store",
                "consultant",
                "updated at",
            ],
        };
        let mut table = Table {
            headers,
            rows: Vec::new(),
        };
        let mut q = query.clone();
        q.per_page = Some(200);
        let mut page = 1;
        loop {
            q.page = Some(page);
            let p = self.list_customers(actor, &q).await?;
            for c in &p.items {
                let row = [
                    c.id.to_string(),
                    c.name.clone(),
                    c.mobile.clone().unwrap_or_default(),
                    CustomerKind::parse("kind", &c.kind)
                        .map_or(c.kind.clone(), |k| k.label(lang).to_string()),
                    CustomerClass::parse("class", &c.class)
                        .map_or(c.class.clone(), |k| k.label(lang).to_string()),
                    c.store_name.clone(),
                    c.consultant_name.clone().unwrap_or_default(),
                    c.updated_at.format("%Y-%m-%d %H:%M").to_string(),
                ];
                table.rows.push(row.iter().map(|v| neutralize(v)).collect());
            }
            if !p.has_more || table.rows.len() >= MAX_EXPORT_ROWS {
                break;
            }
            page += 1;
        }
        write_table(&table, format, out)?;
        let detail = serde_json::json!({
            "format": format.extension(), "rows": table.rows.len(), "filters": query,
        });
        self.db
            .audit(
                Some(actor.staff_id),
                "export",
                "customer",
                None,
                &detail.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(table.rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("+86"), "'+86");
        assert_eq!(neutralize("-1"), "'-1");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("张三"), "张三");
        assert_eq!(neutralize("138****5678"), "138****5678");
    }
}
