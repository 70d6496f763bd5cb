//! Reading an import upload (multipart/form-data) for the upload page and the API: the
//! file goes to a temporary file chunk by chunk (never whole in memory), the other fields
//! become an [`UploadRequest`]. The import then runs in a background task.

use axum::extract::Multipart;
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_service::import::{ImportKind, ImportMode, UploadRequest};
use dealerbase_service::{Actor, ServiceError, Services};
use dealerbase_store::import::ImportRun;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest upload accepted (a million-row DMS export is about 100 MB).
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

pub struct Upload {
    pub req: UploadRequest,
    pub path: Option<PathBuf>,
    /// The form's CSRF field (the page checks it; the API ignores it).
    pub csrf: String,
}

impl Drop for Upload {
    fn drop(&mut self) {
        // A file nobody took (a refused form) is removed.
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn temp_path(file_name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let ext = if file_name.to_ascii_lowercase().ends_with(".xlsx") {
        "xlsx"
    } else {
        "csv"
    };
    std::env::temp_dir().join(format!(
        "dealerbase-upload-{}-{nanos}-{}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

fn invalid(field: &str, value: impl Into<String>, rule: Rule) -> ServiceError {
    ServiceError::invalid(ValidationError::new(field, value, rule))
}

/// Reads the multipart form: kind, file, mapping (a file or text), mode, sheet, store_id,
/// _csrf.
pub async fn read_upload(mut m: Multipart, lang: Lang) -> Result<Upload, ServiceError> {
    let mut up = Upload {
        req: UploadRequest {
            lang,
            ..Default::default()
        },
        path: None,
        csrf: String::new(),
    };
    let bad = |e: axum::extract::multipart::MultipartError| {
        invalid(
            "file",
            e.body_text(),
            Rule::TooLong {
                max: MAX_UPLOAD_BYTES,
            },
        )
    };
    while let Some(mut field) = m.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload.csv").to_string();
            let path = temp_path(&file_name);
            let mut out = std::fs::File::create(&path)
                .map_err(|e| ServiceError::Internal(format!("saving the upload: {e}")))?;
            up.path = Some(path);
            let mut size = 0usize;
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                size += chunk.len();
                out.write_all(&chunk)
                    .map_err(|e| ServiceError::Internal(format!("saving the upload: {e}")))?;
            }
            if size == 0 {
                return Err(invalid("file", file_name, Rule::Required));
            }
            up.req.file_name = file_name;
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "kind" => {
                up.req.kind = match text.trim() {
                    "" => None,
                    t => Some(ImportKind::parse(t)?),
                }
            }
            "mapping" | "mapping_text" => {
                if !text.trim().is_empty() {
                    up.req.mapping = Some(text);
                }
            }
            "mode" => up.req.mode = ImportMode::parse(&text)?,
            "sheet" => up.req.sheet = Some(text).filter(|s| !s.trim().is_empty()),
            "store_id" => {
                up.req.store_id = match text.trim() {
                    "" => None,
                    t => Some(
                        t.parse()
                            .map_err(|_| invalid("store_id", t, Rule::Number))?,
                    ),
                }
            }
            "_csrf" => up.csrf = text,
            _ => {}
        }
    }
    if up.path.is_none() {
        return Err(invalid("file", "", Rule::Required));
    }
    Ok(up)
}

/// Registers the upload as a run and starts the import in the background.
pub async fn start(
    svc: &Services,
    actor: &Actor,
    mut up: Upload,
) -> Result<ImportRun, ServiceError> {
    let Some(path) = up.path.clone() else {
        return Err(invalid("file", "", Rule::Required));
    };
    let run = svc.start_upload(actor, &up.req, &path).await?;
    // The background task owns the file from now on.
    up.path = None;
    let (svc, actor, req, id) = (svc.clone(), actor.clone(), up.req.clone(), run.id);
    tokio::spawn(async move { svc.run_upload(&actor, id, &req, &path).await });
    Ok(run)
}
