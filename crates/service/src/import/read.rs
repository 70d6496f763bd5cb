//! Reading DMS exports as a stream of rows: CSV in UTF-8 (with or without BOM) or
//! GB18030/GBK, detected from the bytes; XLSX (first sheet or a named one) read cell by
//! cell on its own thread through a bounded channel. Headers are matched against the usual
//! Chinese and English names of each kind of file, or a mapping file.

use super::ImportKind;
use crate::{Result, ServiceError};
use dealerbase_domain::dates::excel_serial_to_date;
use dealerbase_domain::text::normalize;
use dealerbase_domain::{Rule, ValidationError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

// ---- headers ------------------------------------------------------------------------

type Headers = &'static [(&'static str, &'static [&'static str])];

/// Customer fields a column can feed, with their usual headers in DMS exports.
pub(crate) const CUSTOMER_HEADERS: Headers = &[
    (
        "name",
        &[
            "客户姓名",
            "客户名称",
            "姓名",
            "客户",
            "车主姓名",
            "车主",
            "车主名称",
            "name",
            "customername",
            "customer",
            "owner",
            "ownername",
        ],
    ),
    (
        "mobile",
        &[
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
            "联系电话",
            "联系手机",
            "电话",
            "车主电话",
            "车主手机",
            "mobile",
            "mobilephone",
            "phone",
            "cellphone",
            "tel",
        ],
    ),
    (
        "id_number",
        &[
            "身份证号",
            "身份证号码",
            "身份证",
            "证件号码",
            "证件号",
            "idnumber",
            "idno",
            "idcard",
        ],
    ),
    ("id_type", &["证件类型", "idtype"]),
    ("gender", &["性别", "gender", "sex"]),
    (
        "birthday",
        &["出生日期", "生日", "birthday", "dateofbirth", "birthdate"],
    ),
    (
        "email",
        &["邮箱", "电子邮件", "电子邮箱", "email", "e-mail"],
    ),
    (
        "address",
        &["地址", "联系地址", "家庭住址", "通讯地址", "address"],
    ),
    ("title", &["称谓", "称呼", "title"]),
    ("kind", &["客户类型", "客户性质", "kind", "customertype"]),
    (
        "other_phones",
        &["其他电话", "固定电话", "座机", "otherphones", "landline"],
    ),
    ("province_code", &["省份代码", "provincecode"]),
    ("city_code", &["城市代码", "citycode"]),
    ("district_code", &["区县代码", "districtcode"]),
    ("industry", &["行业", "industry"]),
    ("occupation", &["职业", "occupation"]),
    ("marital_status", &["婚姻状况", "婚否", "maritalstatus"]),
    ("income_band", &["收入", "收入水平", "incomeband", "income"]),
    ("education", &["学历", "教育程度", "education"]),
    ("interests", &["兴趣爱好", "爱好", "interests"]),
    ("source", &["客户来源", "来源", "source"]),
    ("vip", &["vip", "是否vip", "贵宾"]),
    ("key_account", &["大客户", "keyaccount"]),
    // A key only: the customer who owns the vehicle with this VIN.
    (
        "vin",
        &[
            "车架号",
            "车架号码",
            "vin",
            "vin码",
            "车辆识别代号",
            "车辆识别码",
            "底盘号",
            "vinno",
            "chassisno",
            "frameno",
        ],
    ),
];

/// The owner columns of vehicle, sales, work-order and policy files.
const OWNER_FIELDS: &[&str] = &["name", "mobile", "id_number"];

const VIN: (&str, &[&str]) = (
    "vin",
    &[
        "车架号",
        "车架号码",
        "vin",
        "vin码",
        "车辆识别代号",
        "车辆识别码",
        "底盘号",
        "vinno",
        "chassisno",
        "frameno",
    ],
);
const PLATE: (&str, &[&str]) = (
    "plate",
    &[
        "车牌号",
        "车牌",
        "车牌号码",
        "牌照号",
        "号牌号码",
        "plate",
        "plateno",
        "licenseplate",
    ],
);
const MODEL: (&str, &[&str]) = (
    "model",
    &[
        "车型代码",
        "车型",
        "车型名称",
        "车款",
        "model",
        "modelcode",
        "modelname",
    ],
);
const ODOMETER: (&str, &[&str]) = (
    "odometer_km",
    &[
        "行驶里程",
        "里程",
        "进厂里程",
        "公里数",
        "里程数",
        "odometer",
        "mileage",
        "km",
    ],
);

const VEHICLE_HEADERS: Headers = &[
    VIN,
    PLATE,
    MODEL,
    (
        "engine_no",
        &["发动机号", "发动机号码", "engineno", "enginenumber"],
    ),
    ("colour", &["颜色", "车身颜色", "colour", "color"]),
    ("model_year", &["年款", "车型年款", "modelyear"]),
    ("purchase_date", &["购车日期", "购买日期", "purchasedate"]),
    ("invoice_date", &["开票日期", "发票日期", "invoicedate"]),
    ("delivery_date", &["交车日期", "交付日期", "deliverydate"]),
    ("own_sold", &["是否本店销售", "本店销售", "ownsold"]),
    (
        "warranty_end_date",
        &[
            "保修到期日",
            "质保到期日",
            "保修截止日期",
            "warrantyend",
            "warrantyenddate",
        ],
    ),
    ("warranty_end_km", &["保修里程", "质保里程", "warrantykm"]),
    (
        "compulsory_insurance_end",
        &["交强险到期日", "交强险到期", "compulsoryinsuranceend"],
    ),
    (
        "commercial_insurance_end",
        &["商业险到期日", "商业险到期", "commercialinsuranceend"],
    ),
    (
        "inspection_due",
        &["年检到期日", "年审到期日", "年检日期", "inspectiondue"],
    ),
    ODOMETER,
    (
        "odometer_date",
        &["里程日期", "里程读取日期", "odometerdate"],
    ),
];

const SALES_HEADERS: Headers = &[
    VIN,
    PLATE,
    MODEL,
    (
        "order_no",
        &[
            "订单号",
            "销售订单号",
            "合同号",
            "订单编号",
            "orderno",
            "ordernumber",
        ],
    ),
    (
        "ordered_on",
        &[
            "购车日期",
            "订单日期",
            "下单日期",
            "签约日期",
            "orderdate",
            "orderedon",
            "purchasedate",
        ],
    ),
    (
        "delivered_on",
        &["交车日期", "交付日期", "deliverydate", "deliveredon"],
    ),
    (
        "price",
        &[
            "成交价",
            "车价",
            "成交金额",
            "销售价格",
            "售价",
            "price",
            "saleprice",
        ],
    ),
    ("deposit", &["定金", "订金", "deposit"]),
    (
        "consultant",
        &["销售顾问", "顾问", "consultant", "salesconsultant"],
    ),
    (
        "sale_kind",
        &[
            "购买类型",
            "销售类型",
            "购车类型",
            "salekind",
            "purchasetype",
        ],
    ),
    ("status", &["订单状态", "状态", "status"]),
];

const WORK_ORDER_HEADERS: Headers = &[
    VIN,
    PLATE,
    (
        "number",
        &[
            "工单号",
            "维修工单号",
            "工单编号",
            "委托书号",
            "ro号",
            "wono",
            "workorderno",
            "ronumber",
            "workorder",
        ],
    ),
    (
        "wo_kind",
        &[
            "工单类型",
            "维修类型",
            "业务类型",
            "wotype",
            "workordertype",
            "repairtype",
        ],
    ),
    (
        "opened_on",
        &["开单日期", "进厂日期", "接车日期", "opendate", "openedon"],
    ),
    (
        "settled_on",
        &["结算日期", "结算时间", "settledate", "settledon"],
    ),
    ODOMETER,
    ("paid_by", &["付款方", "付费方", "paidby", "payer"]),
    (
        "advisor",
        &["服务顾问", "接待顾问", "advisor", "serviceadvisor"],
    ),
    (
        "total",
        &["工单金额", "结算金额", "总金额", "合计金额", "total"],
    ),
    (
        "line_kind",
        &["项目类型", "明细类型", "linetype", "linekind"],
    ),
    (
        "line_code",
        &[
            "项目代码",
            "配件编号",
            "工时代码",
            "零件号",
            "itemcode",
            "linecode",
            "partno",
        ],
    ),
    (
        "line_name",
        &[
            "项目名称",
            "维修项目",
            "配件名称",
            "工时名称",
            "itemname",
            "linename",
            "description",
        ],
    ),
    ("quantity", &["数量", "qty", "quantity"]),
    ("line_amount", &["项目金额", "金额", "lineamount", "amount"]),
    ("line_cost", &["成本", "成本金额", "cost", "linecost"]),
];

const POLICY_HEADERS: Headers = &[
    VIN,
    PLATE,
    (
        "policy_no",
        &["保单号", "保单号码", "policyno", "policynumber"],
    ),
    (
        "policy_kind",
        &[
            "险种",
            "保险类型",
            "险别",
            "policytype",
            "policykind",
            "cover",
        ],
    ),
    (
        "insurer",
        &["保险公司", "承保公司", "insurer", "insurancecompany"],
    ),
    (
        "start_date",
        &["起保日期", "生效日期", "保险起期", "startdate"],
    ),
    (
        "end_date",
        &[
            "保险到期日",
            "到期日期",
            "终保日期",
            "保险止期",
            "enddate",
            "expirydate",
        ],
    ),
    ("premium", &["保费", "保险费", "premium"]),
    ("sold_here", &["是否本店出单", "本店出单", "soldhere"]),
];

/// Every (field, usual headers) a file of this kind may have.
pub(crate) fn fields_of(kind: ImportKind) -> Vec<(&'static str, &'static [&'static str])> {
    let own: Vec<(&'static str, &'static [&'static str])> = CUSTOMER_HEADERS
        .iter()
        .filter(|(f, _)| OWNER_FIELDS.contains(f))
        .copied()
        .collect();
    match kind {
        ImportKind::Customers => CUSTOMER_HEADERS.to_vec(),
        ImportKind::Vehicles => own
            .into_iter()
            .chain(VEHICLE_HEADERS.iter().copied())
            .collect(),
        ImportKind::Sales => own
            .into_iter()
            .chain(SALES_HEADERS.iter().copied())
            .collect(),
        ImportKind::WorkOrders => own
            .into_iter()
            .chain(WORK_ORDER_HEADERS.iter().copied())
            .collect(),
        ImportKind::Policies => own
            .into_iter()
            .chain(POLICY_HEADERS.iter().copied())
            .collect(),
    }
}

/// Headers compared without case, spaces, underscores, asterisks (required-column marks)
/// and full-width forms.
pub(crate) fn header_key(h: &str) -> String {
    normalize(h)
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '*' | ':' | '：' | '(' | ')' | '（' | '）'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A mapping file: `[columns]` with `"header in the file" = "field"` (or `"ignore"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub columns: HashMap<String, String>,
}

impl Mapping {
    /// Parses a mapping; every field must be a field of some kind of import (the import
    /// checks it against its own kind).
    pub fn parse(text: &str) -> Result<Mapping> {
        let m: Mapping = toml::from_str(text).map_err(|e| {
            ServiceError::invalid(ValidationError::new(
                "mapping",
                e.to_string(),
                Rule::OneOf {
                    allowed: vec!["[columns] \"header\" = \"field\"".into()],
                },
            ))
        })?;
        for (header, field) in &m.columns {
            let known = field == "ignore"
                || ImportKind::ALL
                    .iter()
                    .any(|k| fields_of(*k).iter().any(|(f, _)| f == field));
            if !known {
                return Err(unknown_field(header, field, ImportKind::Customers));
            }
        }
        Ok(m)
    }
}

fn unknown_field(header: &str, field: &str, kind: ImportKind) -> ServiceError {
    let mut allowed: Vec<String> = fields_of(kind).iter().map(|(f, _)| f.to_string()).collect();
    allowed.push("ignore".into());
    ServiceError::invalid(ValidationError::new(
        format!("mapping {header}"),
        field,
        Rule::OneOf { allowed },
    ))
}

/// Which field each column feeds (None: ignored or unknown), and the unknown headers.
pub(crate) fn match_headers(
    kind: ImportKind,
    headers: &[String],
    mapping: Option<&Mapping>,
) -> Result<(Vec<Option<&'static str>>, Vec<String>)> {
    let fields = fields_of(kind);
    if let Some(m) = mapping {
        for (header, field) in &m.columns {
            if field != "ignore" && !fields.iter().any(|(f, _)| f == field) {
                return Err(unknown_field(header, field, kind));
            }
        }
    }
    let mut unknown = Vec::new();
    let mut taken: HashSet<&'static str> = HashSet::new();
    let cols = headers
        .iter()
        .map(|h| {
            let key = header_key(h);
            let mapped = mapping.and_then(|m| {
                m.columns
                    .iter()
                    .find(|(k, _)| header_key(k) == key)
                    .map(|(_, v)| v.as_str())
            });
            let field = match mapped {
                Some("ignore") => return None,
                Some(f) => fields.iter().find(|(name, _)| *name == f).map(|(n, _)| *n),
                None => fields
                    .iter()
                    .find(|(name, aliases)| {
                        key == *name || aliases.iter().any(|a| header_key(a) == key)
                    })
                    .map(|(name, _)| *name),
            };
            // A second column for the same field is reported rather than overwriting the first.
            match field {
                Some(f) if taken.insert(f) => Some(f),
                _ => {
                    if !h.trim().is_empty() {
                        unknown.push(h.clone());
                    }
                    None
                }
            }
        })
        .collect();
    Ok((cols, unknown))
}

// ---- rows ---------------------------------------------------------------------------

/// One record of the file: its line (CSV) or sheet row (XLSX) and its cells as text.
pub(crate) struct RawRow {
    pub line: u64,
    pub cells: Vec<String>,
}

/// A record that could not be read (bad quoting): reported as one rejected row.
pub(crate) struct BrokenRow {
    pub line: u64,
    pub reason: String,
}

pub(crate) type RowResult = std::result::Result<RawRow, BrokenRow>;

/// A file being read: encoding label, header row, and the data rows that follow.
pub(crate) struct Source {
    pub encoding: &'static str,
    pub headers: Vec<String>,
    rows: Box<dyn Iterator<Item = RowResult> + Send>,
}

impl Source {
    pub fn next_row(&mut self) -> Option<RowResult> {
        self.rows.next()
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid(ValidationError::new(
        "file",
        format!("{}: {e}", path.display()),
        Rule::Required,
    ))
}

pub(crate) fn file_error(path: &Path, e: impl std::fmt::Display) -> ServiceError {
    io_error(path, e)
}

/// Whether a file is an XLSX workbook (a zip archive), by its first bytes.
pub(crate) fn is_xlsx(path: &Path) -> io::Result<bool> {
    let mut f = File::open(path)?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head)?;
    Ok(n == 4 && head == *b"PK\x03\x04")
}

/// Opens a CSV or XLSX file for reading rows.
pub(crate) fn open_source(path: &Path, sheet: Option<&str>) -> Result<Source> {
    if is_xlsx(path).map_err(|e| io_error(path, e))? {
        open_xlsx(path, sheet)
    } else {
        open_csv(path)
    }
}

/// Turns the bytes of a file into UTF-8, decoding GB18030 on the fly when needed.
struct Utf8Reader<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.inbuf)?;
            let last = n == 0;
            match &mut self.decoder {
                None => self.out.extend_from_slice(&self.inbuf[..n]),
                Some(d) => {
                    let cap = d.max_utf8_buffer_length(n).unwrap_or(n * 4 + 16);
                    let mut s = String::with_capacity(cap);
                    let _ = d.decode_to_string(&self.inbuf[..n], &mut s, last);
                    self.out = s.into_bytes();
                }
            }
            self.done = last;
        }
    }
}

/// Opens a CSV file as UTF-8: a UTF-8 BOM is dropped; when the first 64 KiB are not UTF-8
/// the file is read as GB18030 (a superset of GBK and GB2312, which DMS exports use).
pub(crate) fn open_text(path: &Path) -> io::Result<(Box<dyn Read + Send>, &'static str)> {
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 64 * 1024];
    let mut n = 0;
    while n < head.len() {
        let k = f.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    let (skip, utf8, label) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (3, true, "utf-8-bom")
    } else {
        // A character cut at the end of the sample is not an error.
        let ok = match std::str::from_utf8(&head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
        (0, ok, if ok { "utf-8" } else { "gb18030" })
    };
    let head = head.split_off(skip);
    let inner = io::Cursor::new(head).chain(f);
    let decoder = (!utf8).then(|| encoding_rs::GB18030.new_decoder_without_bom_handling());
    Ok((
        Box::new(Utf8Reader {
            inner,
            decoder,
            inbuf: vec![0; 64 * 1024],
            out: Vec::new(),
            pos: 0,
            done: false,
        }),
        label,
    ))
}

fn open_csv(path: &Path) -> Result<Source> {
    let (reader, encoding) = open_text(path).map_err(|e| io_error(path, e))?;
    let csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = csv.into_records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(h)) => h.iter().map(|s| s.to_string()).collect(),
        Some(Err(e)) => return Err(io_error(path, e)),
        None => Vec::new(),
    };
    let rows = records.map(|r| match r {
        Ok(rec) => Ok(RawRow {
            line: rec.position().map_or(0, |p| p.line()),
            cells: rec.iter().map(|c| c.to_string()).collect(),
        }),
        Err(e) => Err(BrokenRow {
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        }),
    });
    Ok(Source {
        encoding,
        headers,
        rows: Box::new(rows),
    })
}

/// A cell of a sheet as the text a CSV export would have: whole numbers without ".0"
/// (mobiles and IDs are often stored as numbers), dates as 2023-01-05.
fn cell_text(v: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        DataRef::DateTime(d) => {
            let serial = d.as_f64();
            match excel_serial_to_date(serial.floor() as i64) {
                Some(date) if d.is_datetime() => date.to_string(),
                _ => serial.to_string(),
            }
        }
        DataRef::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_string(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
        DataRef::Empty => String::new(),
    }
}

/// An XLSX sheet, read cell by cell on its own thread (calamine's reader borrows the
/// workbook) and sent row by row through a bounded channel, so memory holds a few rows
/// plus the workbook's shared strings, not the sheet.
fn open_xlsx(path: &Path, sheet: Option<&str>) -> Result<Source> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<BufReader<File>> =
        calamine::open_workbook(path).map_err(|e| io_error(path, e))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s || header_key(n) == header_key(s))
            .cloned()
            .ok_or_else(|| {
                ServiceError::invalid(ValidationError::new(
                    "sheet",
                    s,
                    Rule::OneOf {
                        allowed: names.clone(),
                    },
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| io_error(path, "no sheet"))?,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<RowResult>(256);
    let label = path.display().to_string();
    std::thread::spawn(move || {
        let mut reader = match book.worksheet_cells_reader(&name) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(BrokenRow {
                    line: 0,
                    reason: format!("{label}: {e}"),
                }));
                return;
            }
        };
        let mut row_no: Option<u32> = None;
        let mut cells: Vec<String> = Vec::new();
        loop {
            match reader.next_cell() {
                Ok(Some(cell)) => {
                    let (r, c) = cell.get_position();
                    if row_no != Some(r) {
                        if let Some(prev) = row_no
                            && tx
                                .send(Ok(RawRow {
                                    line: prev as u64 + 1,
                                    cells: std::mem::take(&mut cells),
                                }))
                                .is_err()
                        {
                            return;
                        }
                        row_no = Some(r);
                    }
                    let c = c as usize;
                    if cells.len() <= c {
                        cells.resize(c + 1, String::new());
                    }
                    cells[c] = cell_text(cell.get_value());
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(BrokenRow {
                        line: row_no.map_or(0, |r| r as u64 + 1),
                        reason: e.to_string(),
                    }));
                    return;
                }
            }
        }
        if let Some(prev) = row_no {
            let _ = tx.send(Ok(RawRow {
                line: prev as u64 + 1,
                cells,
            }));
        }
    });
    let mut rows = rx.into_iter();
    // The header is the first row with any text.
    let headers = loop {
        match rows.next() {
            Some(Ok(r)) if r.cells.iter().all(|c| c.trim().is_empty()) => continue,
            Some(Ok(r)) => break r.cells,
            Some(Err(e)) => return Err(io_error(path, e.reason)),
            None => break Vec::new(),
        }
    };
    Ok(Source {
        encoding: "xlsx",
        headers,
        rows: Box::new(rows),
    })
}

/// The number of data rows, cheaply, for the progress bar of an upload: newlines of a CSV
/// (a quoted newline counts twice, so this is an upper bound), the used range of a sheet.
pub(crate) fn count_rows(path: &Path, sheet: Option<&str>) -> Option<i64> {
    if is_xlsx(path).ok()? {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<BufReader<File>> = calamine::open_workbook(path).ok()?;
        let name = match sheet {
            Some(s) => s.to_string(),
            None => book.sheet_names().first()?.clone(),
        };
        let dims = book.worksheet_cells_reader(&name).ok()?.dimensions();
        Some((dims.end.0 as i64 - dims.start.0 as i64).max(0))
    } else {
        let mut f = File::open(path).ok()?;
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0i64;
        let mut last = b'\n';
        loop {
            let k = f.read(&mut buf).ok()?;
            if k == 0 {
                break;
            }
            n += buf[..k].iter().filter(|b| **b == b'\n').count() as i64;
            last = buf[k - 1];
        }
        if last != b'\n' {
            n += 1;
        }
        Some((n - 1).max(0))
    }
}

pub(crate) fn file_sha256(path: &Path) -> io::Result<String> {
    let mut f = BufReader::new(File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Yes/no cells: 是/否, Y/N, yes/no, 1/0, true/false, √.
pub(crate) fn parse_yes_no(v: &str) -> Option<bool> {
    match header_key(v).as_str() {
        "是" | "y" | "yes" | "1" | "true" | "√" | "有" => Some(true),
        "否" | "n" | "no" | "0" | "false" | "×" | "无" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_match_chinese_english_and_mapping() {
        let h = strings(&[
            "客户姓名",
            " 手机号码 ",
            "ID Number",
            "车架号",
            "备注",
            "Name2",
        ]);
        let (cols, unknown) = match_headers(ImportKind::Customers, &h, None).expect("match");
        assert_eq!(
            cols,
            vec![
                Some("name"),
                Some("mobile"),
                Some("id_number"),
                Some("vin"),
                None,
                None
            ]
        );
        assert_eq!(unknown, vec!["备注", "Name2"]);
        let m = Mapping::parse("[columns]\n\"备注\" = \"interests\"\n\"车架号\" = \"ignore\"\n")
            .expect("mapping");
        let (cols, unknown) = match_headers(ImportKind::Customers, &h, Some(&m)).expect("match");
        assert_eq!(cols[3], None);
        assert_eq!(cols[4], Some("interests"));
        assert_eq!(unknown, vec!["Name2"]);
        assert!(Mapping::parse("[columns]\n\"x\" = \"nonsense\"\n").is_err());
        // A field of another kind is refused when the kind does not have it.
        let m = Mapping::parse("[columns]\n\"单号\" = \"policy_no\"\n").expect("mapping");
        assert!(match_headers(ImportKind::Customers, &h, Some(&m)).is_err());
    }

    #[test]
    fn each_kind_matches_its_usual_headers() {
        let h = strings(&[
            "车架号",
            "车牌号",
            "购车日期",
            "行驶里程",
            "车主姓名",
            "手机",
            "车型代码",
        ]);
        let (cols, unknown) = match_headers(ImportKind::Vehicles, &h, None).expect("match");
        assert_eq!(
            cols,
            vec![
                Some("vin"),
                Some("plate"),
                Some("purchase_date"),
                Some("odometer_km"),
                Some("name"),
                Some("mobile"),
                Some("model")
            ]
        );
        assert!(unknown.is_empty());
        let h = strings(&["工单号", "VIN", "结算日期", "项目名称", "金额", "工单金额"]);
        let (cols, _) = match_headers(ImportKind::WorkOrders, &h, None).expect("match");
        assert_eq!(
            cols,
            vec![
                Some("number"),
                Some("vin"),
                Some("settled_on"),
                Some("line_name"),
                Some("line_amount"),
                Some("total")
            ]
        );
        let h = strings(&["保单号", "保险到期日", "险种", "保险公司"]);
        let (cols, _) = match_headers(ImportKind::Policies, &h, None).expect("match");
        assert_eq!(
            cols,
            vec![
                Some("policy_no"),
                Some("end_date"),
                Some("policy_kind"),
                Some("insurer")
            ]
        );
        // No alias is claimed twice within a kind.
        for kind in ImportKind::ALL {
            let mut seen = HashSet::new();
            for (_, aliases) in fields_of(*kind) {
                for a in aliases {
                    assert!(seen.insert(header_key(a)), "{kind:?}: {a}");
                }
            }
        }
    }

    #[test]
    fn gbk_is_decoded_and_bom_dropped() {
        let dir = std::env::temp_dir().join(format!("dbimp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,手机\n张三,13800138000\n");
        std::fs::write(dir.join("g.csv"), &gbk).expect("write");
        let (mut r, label) = open_text(&dir.join("g.csv")).expect("open");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(
            (label, s.as_str()),
            ("gb18030", "姓名,手机\n张三,13800138000\n")
        );
        assert_eq!(count_rows(&dir.join("g.csv"), None), Some(1));
        std::fs::write(dir.join("b.csv"), "\u{feff}姓名\n李四\n").expect("write");
        let (mut r, label) = open_text(&dir.join("b.csv")).expect("open");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!((label, s.as_str()), ("utf-8-bom", "姓名\n李四\n"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn xlsx_rows_keep_sheet_row_numbers_and_read_numbers_as_text() {
        let dir = std::env::temp_dir().join(format!("dbimpx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("c.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let s = book.add_worksheet();
        s.set_name("说明").expect("name");
        s.write_string(0, 0, "这一页不是数据").expect("write");
        let s = book.add_worksheet();
        s.set_name("客户").expect("name");
        s.write_string(1, 0, "客户姓名").expect("write");
        s.write_string(1, 1, "手机").expect("write");
        s.write_string(2, 0, "张三").expect("write");
        s.write_number(2, 1, 13800138000.0).expect("write");
        s.write_string(4, 0, "李四").expect("write");
        book.save(&path).expect("save");
        let mut src = open_source(&path, Some("客户")).expect("open");
        assert_eq!(src.encoding, "xlsx");
        assert_eq!(src.headers, vec!["客户姓名", "手机"]);
        let r = src.next_row().expect("row").ok().expect("ok");
        assert_eq!((r.line, r.cells), (3, strings(&["张三", "13800138000"])));
        let r = src.next_row().expect("row").ok().expect("ok");
        assert_eq!((r.line, r.cells), (5, strings(&["李四"])));
        assert!(src.next_row().is_none());
        // The first sheet by default; an unknown sheet is refused naming the sheets.
        let src = open_source(&path, None).expect("open");
        assert_eq!(src.headers, vec!["这一页不是数据"]);
        let e = open_source(&path, Some("车辆")).err().expect("refused");
        assert!(e.message(dealerbase_domain::Lang::En).contains("客户"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
