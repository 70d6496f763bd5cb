//! The `dealerbase` binary: exit codes and messages for good and bad input.

use std::process::Command;

fn dealerbase(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dealerbase"));
    cmd.args(args)
        .env_remove("DEALERBASE_DATABASE_URL")
        .env("DEALERBASE_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run dealerbase");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_explains_each_command_with_an_example() {
    for cmd in ["serve", "demo", "migrate"] {
        let (ok, out, _) = dealerbase(&[cmd, "--help"], &[]);
        assert!(ok && out.contains("Example: dealerbase"), "{cmd}: {out}");
    }
    let (ok, out, _) = dealerbase(&["user", "add", "--help"], &[]);
    assert!(ok && out.contains("Example: dealerbase user add"));
}

#[test]
fn demo_users_tokens_and_bad_input() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let (ok, _, err) = dealerbase(
        &[
            "demo",
            "--customers",
            "150",
            "--stores",
            "2",
            "--as-of",
            "2026-11-23",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("customer") && err.contains("demo1234"),
        "{err}"
    );
    // A second run refuses to mix demo data into a filled database.
    let (ok, _, err) = dealerbase(&["demo", "--customers", "10", "--database-url", &url], &[]);
    assert!(!ok && err.contains("empty database"), "{err}");
    let (ok, _, err) = dealerbase(
        &[
            "user",
            "add",
            "--login",
            "wang.li",
            "--role",
            "sales_consultant",
            "--store",
            "S01",
            "--database-url",
            &url,
        ],
        &[("DEALERBASE_PASSWORD", "s3cret-pass")],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = dealerbase(
        &[
            "user",
            "add",
            "--login",
            "x",
            "--role",
            "chef",
            "--database-url",
            &url,
        ],
        &[("DEALERBASE_PASSWORD", "s3cret-pass")],
    );
    assert!(
        !ok && err.contains("--role") && err.contains("chef"),
        "{err}"
    );
    let (ok, _, err) = dealerbase(
        &[
            "user",
            "add",
            "--login",
            "y",
            "--role",
            "admin",
            "--database-url",
            &url,
        ],
        &[("DEALERBASE_PASSWORD", "short")],
    );
    assert!(!ok && err.contains("password"), "{err}");
    let (ok, _, err) = dealerbase(
        &[
            "user",
            "add",
            "--login",
            "z",
            "--role",
            "marketing",
            "--store",
            "S99",
            "--database-url",
            &url,
        ],
        &[("DEALERBASE_PASSWORD", "s3cret-pass")],
    );
    assert!(!ok && err.contains("S99"), "{err}");
    let (ok, token, err) = dealerbase(
        &[
            "token",
            "create",
            "--login",
            "wang.li",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(ok && token.trim().starts_with("dbk_"), "{err}");
    let (ok, _, err) = dealerbase(
        &["demo", "--as-of", "2026-02-30", "--database-url", &url],
        &[],
    );
    assert!(!ok && err.contains("2026-02-30"), "{err}");
    let (ok, _, err) = dealerbase(&["migrate", "--database-url", "mysql://nope"], &[]);
    assert!(!ok && err.contains("unsupported database URL"), "{err}");
}
