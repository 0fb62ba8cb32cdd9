//! Requests cannot be turned against the router's own network: every blocked class of address,
//! spelt as IP literals (odd encodings included) or reached through a name, is refused with a
//! permanent error before any connection, and the allow-list lets listed networks through.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use url::Url;

use testkit::receiver::Receiver;

use super::loopback_client;
use crate::channels::{
    FailureKind, HttpClient, HttpOptions, SlackNotifier, SlackProgress, SlackSettings, SlackTarget,
    Verb, WebhookNotifier, WebhookSettings,
};

/// The client as the router builds it with no `allow_private_networks`.
fn default_client() -> HttpClient {
    HttpClient::new(&HttpOptions {
        connect_timeout: Duration::from_secs(2),
        ..HttpOptions::default()
    })
    .expect("builds")
}

fn webhook(client: HttpClient, url: Url) -> WebhookNotifier {
    WebhookNotifier::new(
        client,
        WebhookSettings {
            url,
            verb: Verb::Post,
            custom_headers: Vec::new(),
            sensitive_headers: Vec::new(),
            timeout: Duration::from_secs(5),
            signer: crate::channels::Signer::default(),
            oauth2: None,
            tls: None,
        },
    )
}

#[tokio::test]
async fn loopback_in_any_spelling_is_refused_without_reaching_the_listener() {
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.url("/").port().expect("port");
    let spellings = [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://0x7f.1:{port}/x"),
        format!("http://0177.0.0.1:{port}/x"),
        format!("http://127.1:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://[::1]:{port}/x"),
        // Names are refused by the resolver, whatever they resolve to.
        format!("http://localhost:{port}/x"),
    ];
    for url in spellings {
        let hook = webhook(default_client(), Url::parse(&url).expect("valid"));
        let error = hook
            .send("msg_1", Bytes::from_static(b"{}"), false)
            .await
            .expect_err(&url);
        assert_eq!(error.kind, FailureKind::Permanent, "{url}: {error}");
        assert!(
            error.message.starts_with("refused to ")
                && error.message.contains("(loopback)")
                && error.message.contains("http.allow_private_networks"),
            "{url}: {}",
            error.message
        );
    }
    assert_eq!(receiver.hits(), 0);
}

#[tokio::test]
async fn every_non_public_class_is_refused_at_once_with_its_name() {
    let cases = [
        ("http://10.1.2.3/x", "(private)"),
        ("http://172.16.0.1/x", "(private)"),
        ("http://192.168.0.1/x", "(private)"),
        ("http://169.254.169.254/latest/meta-data/", "(link-local)"),
        ("http://100.64.0.1/x", "(carrier-grade NAT"),
        ("http://0.0.0.0/x", "(unspecified)"),
        ("http://[::]/x", "(unspecified)"),
        ("http://224.0.0.1/x", "(multicast)"),
        ("http://[ff02::1]/x", "(multicast)"),
        ("http://255.255.255.255/x", "(broadcast)"),
        ("http://192.0.2.1/x", "(documentation)"),
        ("http://[2001:db8::1]/x", "(documentation)"),
        ("http://[fd00::1]/x", "(unique local"),
        ("http://[fe80::1]/x", "(link-local)"),
        ("http://[::ffff:169.254.169.254]/x", "(link-local)"),
        ("http://[64:ff9b::a9fe:a9fe]/x", "(link-local)"),
        ("http://240.0.0.1/x", "(reserved)"),
    ];
    for (url, class) in cases {
        let started = Instant::now();
        let error = webhook(default_client(), Url::parse(url).expect("valid"))
            .send("msg_1", Bytes::from_static(b"{}"), false)
            .await
            .expect_err(url);
        assert_eq!(error.kind, FailureKind::Permanent, "{url}");
        assert_eq!(error.status, None);
        assert!(
            error.message.contains(class) && error.message.contains("not a public address"),
            "{url}: {}",
            error.message
        );
        // Refused before connecting: no connect timeout was waited for.
        assert!(started.elapsed() < Duration::from_millis(500), "{url}");
    }
}

#[tokio::test]
async fn the_allow_list_lets_listed_networks_through_by_address_and_by_name() {
    let mut receiver = Receiver::start(vec![]).await;
    let port = receiver.url("/").port().expect("port");
    for url in [
        format!("http://127.0.0.1:{port}/a"),
        format!("http://localhost:{port}/b"),
    ] {
        webhook(loopback_client(), Url::parse(&url).expect("valid"))
            .send("msg_1", Bytes::from_static(b"{}"), false)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        receiver.next().await;
    }
    assert_eq!(receiver.hits(), 2);
}

#[tokio::test]
async fn slack_urls_are_guarded_the_same_way() {
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.url("/").port().expect("port");
    let targets = [
        SlackTarget::IncomingWebhook {
            url: Url::parse(&format!("http://localhost:{port}/services/T/B/secret"))
                .expect("valid"),
        },
        SlackTarget::Bot {
            token: "xoxb-canary".into(),
            api_url: Url::parse(&format!("http://2130706433:{port}/api/")).expect("valid"),
        },
    ];
    for target in targets {
        let notifier = SlackNotifier::new(
            default_client(),
            SlackSettings {
                target,
                timeout: Duration::from_secs(5),
            },
        );
        let error = notifier
            .send(
                &json!({"text": "hi"}),
                &["#ops".to_owned()],
                &SlackProgress::new(),
            )
            .await
            .expect_err("refused");
        assert_eq!(error.kind, FailureKind::Permanent, "{error}");
        assert!(error.message.contains("(loopback)"), "{}", error.message);
        assert!(!error.message.contains("secret"), "{}", error.message);
    }
    assert_eq!(receiver.hits(), 0);
}

#[tokio::test]
async fn an_ip_literal_proxy_is_checked_like_any_address() {
    // A "proxy" on loopback that would forward anything (it answers 200 to all).
    let proxy = Receiver::start(vec![]).await;
    let port = proxy.url("/").port().expect("port");
    for spelling in [
        format!("http://127.0.0.1:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
    ] {
        let options = HttpOptions {
            connect_timeout: Duration::from_secs(2),
            proxy: Some(Url::parse(&spelling).expect("valid")),
            ..HttpOptions::default()
        };
        let built = HttpClient::new(&options);
        if let Ok(client) = &built {
            // What the router did: a public destination, sent through the loopback proxy.
            let hook = webhook(
                client.clone(),
                Url::parse("http://93.184.215.14/x").expect("valid"),
            );
            let _ = hook.send("msg_1", Bytes::from_static(b"{}"), false).await;
        }
        assert_eq!(
            proxy.hits(),
            0,
            "{spelling}: the request went through the proxy"
        );
        let error = built
            .err()
            .unwrap_or_else(|| panic!("{spelling}: the client was built"))
            .to_string();
        assert!(
            error.contains("http.proxy is refused: 127.0.0.1")
                || error.contains("http.proxy is refused: ::ffff:127.0.0.1"),
            "{error}"
        );
        assert!(error.contains("loopback"), "{error}");
        // The same proxy is fine once its network is allowed.
        let allowed = HttpOptions {
            allow_private_networks: vec!["127.0.0.0/8".parse().expect("network")],
            ..options
        };
        assert!(HttpClient::new(&allowed).is_ok(), "{spelling}");
    }
}
