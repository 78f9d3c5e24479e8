use crate::config::Config;
use std::time::Duration;
use tidings::ErrorKind;

const IMAP: &str = r#"
secrets = "secrets.toml"
[imap]
host = "127.0.0.1"
port = 1143
security = "plain"
"#;

fn with_caldav(section: &str) -> String {
    format!("{IMAP}\n{section}")
}

#[test]
fn caldav_section_with_its_own_passwords() {
    let text = with_caldav(
        r#"[caldav]
url = "https://cal.example.org/dav/"
interval_seconds = 30
[[caldav.account]]
principal = "mayor@example.org"
login = "mayor"
calendars = ["/chief/shared/"]
"#,
    );
    let secrets = "[passwords]\nmayor = \"imap\"\n[caldav_passwords]\nmayor = \"dav\"\n";
    let config = Config::from_strs(&text, secrets).expect("config");
    let caldav = config.caldav.expect("caldav section");
    assert_eq!(caldav.interval, Duration::from_secs(30));
    assert_eq!(caldav.server.url.host(), Some("cal.example.org"));
    let account = &caldav.accounts[0];
    assert_eq!(account.principal, "mayor@example.org");
    assert_eq!(account.password.expose(), "dav");
    assert_eq!(account.calendars, vec!["/chief/shared/".to_string()]);
    assert_eq!(format!("{:?}", account.password), "Secret(…)");
}

#[test]
fn caldav_falls_back_to_the_mail_password_and_default_interval() {
    let text = with_caldav(
        "[caldav]\nurl = \"https://cal.example.org/\"\n[[caldav.account]]\nprincipal = \"a@example.org\"\nlogin = \"a\"\n",
    );
    let config = Config::from_strs(&text, "[passwords]\na = \"pw\"\n").expect("config");
    let caldav = config.caldav.expect("caldav");
    assert_eq!(caldav.accounts[0].password.expose(), "pw");
    assert_eq!(
        caldav.interval,
        Duration::from_secs(super::config::DEFAULT_INTERVAL_SECONDS)
    );
}

#[test]
fn caldav_plain_http_only_on_loopback() {
    for (url, ok) in [
        ("http://127.0.0.1:5232/", true),
        ("http://localhost:5232/", true),
        ("http://[::1]:5232/", true),
        ("http://cal.example.org/", false),
        ("ftp://cal.example.org/", false),
        ("not a url", false),
    ] {
        let text = with_caldav(&format!("[caldav]\nurl = \"{url}\"\n"));
        match Config::from_strs(&text, "") {
            Ok(_) => assert!(ok, "{url} accepted"),
            Err(e) => {
                assert!(!ok, "{url} refused");
                assert_eq!(e.kind(), ErrorKind::UpstreamConfig);
            }
        }
    }
}

#[test]
fn caldav_account_without_password_is_refused() {
    let text = with_caldav(
        "[caldav]\nurl = \"https://cal.example.org/\"\n[[caldav.account]]\nprincipal = \"a@example.org\"\nlogin = \"a\"\n",
    );
    let err = Config::from_strs(&text, "").expect_err("no password");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
}

#[test]
fn no_caldav_section_no_calendars() {
    assert!(
        Config::from_strs(IMAP, "")
            .expect("config")
            .caldav
            .is_none()
    );
}
