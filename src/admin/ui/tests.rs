//! The console over HTTP on the shipped configuration: every page renders with the policy
//! header, signing in, CSRF refusals, and pages closed when reads need a token.

use std::path::Path as FilePath;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admin::{AdminState, serve};
use crate::secret::Secret;
use crate::telemetry::metrics::Metrics;

use super::CONTENT_SECURITY_POLICY;

/// Serves the shipped configuration with `token` and `read_token`; the base URL.
async fn start(token: Option<&str>, read_token: Option<&str>) -> (String, CancellationToken) {
    let path = FilePath::new(env!("CARGO_MANIFEST_DIR")).join("router.yaml");
    let config = crate::config::load_with(&path, &|_| None).expect("the shipped config loads");
    let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
    metrics.config_loaded(true);
    let mut state = AdminState::new(Arc::new(config), metrics, Arc::default(), None);
    let unshared = Arc::get_mut(&mut state).expect("unshared");
    unshared.token = token.map(|t| Secret::new(t.into()));
    unshared.read_token = read_token.map(|t| Secret::new(t.into()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(listener, None, state, shutdown.clone()));
    (base, shutdown)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The value of `name="csrf" value="..."` in a page.
fn csrf_in(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..start + 64].to_owned()
}

/// The `name=value` of a `Set-Cookie` header named `name`.
fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .expect("the cookie")
        .to_owned()
}

#[tokio::test]
async fn every_page_renders_under_the_policy() {
    let (base, shutdown) = start(Some("s3cret"), None).await;
    let client = client();
    for (path, text) in [
        ("/ui/", "Deliveries, last hour"),
        ("/ui/sources", "resource-lifecycle-events"),
        (
            "/ui/sources/ubiops-audit?enabled=true",
            "What happens to its events",
        ),
        (
            "/ui/sources/ubiops-audit?enabled=true",
            "This router runs without Kafka: there is no retained traffic to read.",
        ),
        ("/ui/topics", "instance-failures"),
        (
            "/ui/explain?example=instance-create.json",
            "App Configuration",
        ),
        ("/ui/deliveries", "Delivery history is not available"),
        ("/ui/silences", "Silences are not available"),
        ("/ui/dead-letters", "no Kafka connection"),
        ("/ui/sign-in", "Admin token"),
    ] {
        let response = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-security-policy"],
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        let page = response.text().await.expect("a page");
        assert!(page.contains(text), "{path}: {page}");
        assert!(!page.contains("style="), "{path}: inline style");
        assert!(!page.contains("<script>"), "{path}: inline script");
    }
    let css = client
        .get(format!("{base}/ui/assets/console.css"))
        .send()
        .await
        .expect("css");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    shutdown.cancel();
}

#[tokio::test]
async fn explain_marks_the_failing_clause() {
    let (base, shutdown) = start(None, None).await;
    let event = include_str!("../../../examples/events/instance-create.json");
    let page = client()
        .post(format!("{base}/ui/explain"))
        .form(&[("event", event), ("source", "resource-lifecycle-events")])
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("class=\"clause fails\""), "{page}");
    assert!(page.contains("class=\"clause holds\""), "{page}");
    assert!(
        page.contains("DISABLED") || page.contains("its events are dropped"),
        "{page}"
    );
    let page = client()
        .post(format!("{base}/ui/explain"))
        .form(&[("event", "{not json")])
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("No source accepts this event"), "{page}");
    shutdown.cancel();
}

#[tokio::test]
async fn signing_in_needs_the_token_and_changes_need_the_csrf_token() {
    let (base, shutdown) = start(Some("s3cret"), None).await;
    let client = client();
    let form = client
        .get(format!("{base}/ui/sign-in"))
        .send()
        .await
        .expect("form");
    let pre = cookie(&form, "nr_console_sign_in");
    assert!(
        form.headers()["set-cookie"]
            .to_str()
            .expect("text")
            .contains("HttpOnly; SameSite=Strict")
    );
    let csrf = csrf_in(&form.text().await.expect("page"));
    let sign_in = |token: &'static str, csrf: String, cookie: String| {
        client
            .post(format!("{base}/ui/sign-in"))
            .header("cookie", cookie)
            .form(&[("token", token.to_owned()), ("csrf", csrf)])
            .send()
    };
    let wrong = sign_in("s3cre", csrf.clone(), pre.clone())
        .await
        .expect("answer");
    assert_eq!(wrong.status(), 401);
    let page = wrong.text().await.expect("page");
    assert!(page.contains("That token is not accepted."), "{page}");
    assert!(!page.contains("s3cret"));
    let no_csrf = sign_in("s3cret", "x".repeat(64), pre.clone())
        .await
        .expect("answer");
    assert_eq!(no_csrf.status(), 403);

    let right = sign_in("s3cret", csrf, pre).await.expect("answer");
    assert_eq!(right.status(), 303);
    let session = cookie(&right, "nr_console");
    let page = client
        .get(format!("{base}/ui/sources/ubiops-audit?enabled=true"))
        .header("cookie", &session)
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("page");
    assert!(page.contains("Sign out"), "{page}");
    let csrf = csrf_in(&page);
    let change = |fields: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut request = client
            .post(format!("{base}/ui/sources/ubiops-audit"))
            .form(&fields);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let refused = change(vec![("enabled", "true".into())], Some(session.clone()))
        .await
        .expect("answer");
    assert_eq!(refused.status(), 403, "no CSRF token");
    let refused = change(
        vec![("enabled", "true".into()), ("csrf", "0".repeat(64))],
        Some(session.clone()),
    )
    .await
    .expect("answer");
    assert_eq!(refused.status(), 403, "another CSRF token");
    let refused = change(
        vec![("enabled", "true".into()), ("csrf", csrf.clone())],
        None,
    )
    .await
    .expect("answer");
    assert_eq!(refused.status(), 403, "no session");
    // With both, the form is taken (and this one's value is refused, so router.yaml stays).
    let taken = change(
        vec![("enabled", "maybe".into()), ("csrf", csrf.clone())],
        Some(session.clone()),
    )
    .await
    .expect("answer");
    assert_eq!(taken.status(), 400);
    // The other forms that change something: refused without the CSRF token; with it, taken
    // (and answered that the ledger and the silences need what this router lacks).
    for (path, taken) in [
        ("/ui/deliveries/msg_1/resend", 503),
        ("/ui/silences", 503),
        ("/ui/silences/s-1/expire", 503),
    ] {
        let post = |csrf: Option<String>| {
            let mut fields = vec![("matcher", "$.type == 'x'".to_owned())];
            fields.extend(csrf.map(|c| ("csrf", c)));
            client
                .post(format!("{base}{path}"))
                .header("cookie", &session)
                .form(&fields)
                .send()
        };
        let refused = post(None).await.expect("answer");
        assert_eq!(refused.status(), 403, "{path} without the CSRF token");
        let answer = post(Some(csrf.clone())).await.expect("answer");
        assert_eq!(answer.status(), taken, "{path}");
    }

    let out = client
        .post(format!("{base}/ui/sign-out"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.clone())])
        .send()
        .await
        .expect("answer");
    assert_eq!(out.status(), 303);
    let after = change(
        vec![("enabled", "maybe".into()), ("csrf", csrf)],
        Some(session),
    )
    .await
    .expect("answer");
    assert_eq!(after.status(), 403, "the session ended");
    shutdown.cancel();
}

#[tokio::test]
async fn pages_need_a_session_when_reads_need_a_token() {
    let (base, shutdown) = start(Some("s3cret"), Some("r3ad")).await;
    let response = client()
        .get(format!("{base}/ui/topics"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/ui/sign-in");
    let response = client()
        .get(format!("{base}/ui/sign-in"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    shutdown.cancel();
}
