use super::*;
use std::os::unix::fs::PermissionsExt;

const PLAIN_LOOPBACK: &str = r#"
secrets = "secrets.toml"
[imap]
host = "127.0.0.1"
port = 1143
security = "plain"
[[account]]
principal = "alice@example.org"
login = "alice"
"#;

#[test]
fn per_account_passwords() {
    let config =
        Config::from_strs(PLAIN_LOOPBACK, "[passwords]\nalice = \"pw\"\n").expect("config");
    let (account, creds) = &config.accounts[0];
    assert_eq!(account.principal, "alice@example.org");
    assert_eq!(creds.username, "alice");
    assert_eq!(creds.password.expose(), "pw");
    assert_eq!(config.preview_bytes, DEFAULT_PREVIEW_BYTES);
}

#[test]
fn an_account_may_name_its_principal() {
    let config =
        Config::from_strs(PLAIN_LOOPBACK, "[passwords]\nalice = \"pw\"\n").expect("config");
    assert_eq!(config.accounts[0].0.name, None);
    let named = PLAIN_LOOPBACK.replace(
        "login = \"alice\"",
        "login = \"alice\"\nname = \"Alice Okoye\"",
    );
    let config = Config::from_strs(&named, "[passwords]\nalice = \"pw\"\n").expect("config");
    assert_eq!(config.accounts[0].0.name.as_deref(), Some("Alice Okoye"));
}

#[test]
fn master_user_logs_in_as_the_account() {
    let text = format!("{PLAIN_LOOPBACK}[master]\nuser = \"gateway\"\n");
    let config = Config::from_strs(&text, "master = \"m\"\n").expect("config");
    assert_eq!(config.accounts[0].1.username, "alice*gateway");
    assert_eq!(config.accounts[0].1.password.expose(), "m");
}

#[test]
fn plain_tcp_only_on_loopback() {
    let remote = PLAIN_LOOPBACK.replace("127.0.0.1", "mail.example.org");
    let err = Config::from_strs(&remote, "[passwords]\nalice = \"pw\"\n").expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
    let tls = remote.replace("\"plain\"", "\"tls\"");
    Config::from_strs(&tls, "[passwords]\nalice = \"pw\"\n").expect("TLS to a remote host");
}

#[test]
fn missing_password_is_a_config_error() {
    let err = Config::from_strs(PLAIN_LOOPBACK, "").expect_err("no password");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
}

#[test]
fn secrets_never_in_debug_or_errors() {
    let config =
        Config::from_strs(PLAIN_LOOPBACK, "[passwords]\nalice = \"hunter2\"\n").expect("config");
    assert!(!format!("{config:?}").contains("hunter2"));
    let broken =
        Config::from_strs(PLAIN_LOOPBACK, "[passwords]\nalice = hunter2\n").expect_err("bad toml");
    assert!(!format!("{broken:?} {broken}").contains("hunter2"));
}

#[test]
fn secrets_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("upstream.toml"), PLAIN_LOOPBACK).expect("config");
    let secrets = dir.path().join("secrets.toml");
    std::fs::write(&secrets, "[passwords]\nalice = \"pw\"\n").expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = Config::load(&dir.path().join("upstream.toml")).expect_err("0644 refused");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = Config::load(&dir.path().join("upstream.toml")).expect("0600 accepted");
    assert_eq!(config.accounts[0].1.password.expose(), "pw");
}

#[test]
fn calendars_only_needs_no_imap_but_a_file_with_neither_is_refused() {
    let calendars = "secrets = \"s.toml\"\n[caldav]\nurl = \"http://127.0.0.1:5232/\"\n\
                     [[caldav.account]]\nprincipal = \"alice@example.org\"\nlogin = \"alice\"\n";
    let config = Config::from_strs(calendars, "[passwords]\nalice = \"pw\"\n").expect("config");
    assert!(config.imap.is_none());
    assert_eq!(config.caldav.expect("caldav").accounts.len(), 1);

    let err = Config::from_strs("secrets = \"s.toml\"\n", "").expect_err("neither");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
    assert_eq!(err.code(), 712);
    // Mail accounts without a mail server are a mistake, not calendars only.
    let text = format!("{calendars}[[account]]\nprincipal = \"b@example.org\"\nlogin = \"b\"\n");
    let err = Config::from_strs(&text, "[passwords]\nalice = \"pw\"\nb = \"pw\"\n")
        .expect_err("accounts without [imap]");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
}

#[test]
fn smtp_follows_the_imap_rules_and_has_bounded_outboxes() {
    let secrets = "[passwords]\nalice = \"pw\"\n";
    let config = Config::from_strs(PLAIN_LOOPBACK, secrets).expect("config");
    assert_eq!(config.smtp, None, "no [smtp]: local delivery");
    let text = format!(
        "{PLAIN_LOOPBACK}[smtp]\nhost = \"127.0.0.1\"\nport = 2525\nsecurity = \"plain\"\nlogin = \"none\"\n"
    );
    let smtp = Config::from_strs(&text, secrets)
        .expect("config")
        .smtp
        .expect("smtp");
    assert_eq!(smtp.login, SmtpLogin::None);
    assert_eq!(smtp.outbox_limit, DEFAULT_OUTBOX_LIMIT);
    let remote_plain = text.replace(
        "127.0.0.1\"\nport = 2525",
        "mail.example.org\"\nport = 2525",
    );
    let refused = Config::from_strs(&remote_plain, secrets).expect_err("plain to a remote host");
    assert_eq!(refused.kind(), ErrorKind::UpstreamConfig);
    let tls = format!(
        "{PLAIN_LOOPBACK}[smtp]\nhost = \"mail.example.org\"\nport = 465\nsecurity = \"tls\"\noutbox_limit = 5\n"
    );
    let smtp = Config::from_strs(&tls, secrets)
        .expect("config")
        .smtp
        .expect("smtp");
    assert_eq!(
        smtp.login,
        SmtpLogin::Imap,
        "the IMAP credentials by default"
    );
    assert_eq!(smtp.outbox_limit, 5);
    let zero = tls.replace("outbox_limit = 5", "outbox_limit = 0");
    assert!(Config::from_strs(&zero, secrets).is_err());
}
