//! Signed webhooks against a real receiver, verified with the `standardwebhooks` crate (an
//! independent implementation) for `v1,` and with ed25519-dalek from the printed public key for
//! `v1a,`; tampering, a wrong secret and a stale timestamp must fail.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use standardwebhooks::{Webhook, WebhookError};

use testkit::receiver::{Received, Receiver};

use crate::channels::http::loopback_client;
use crate::channels::{
    Signer, Verb, WebhookNotifier, WebhookSettings, generate_key_pair, generate_secret,
};
use crate::secret::Secret;

const BODY: &str =
    r#"{"id":"n-1","type":"com.ibm.cloud.resource-lifecycle-events.instance:create"}"#;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after epoch")
        .as_secs()
}

fn notifier(receiver: &Receiver, verb: Verb, signer: Signer) -> WebhookNotifier {
    WebhookNotifier::new(
        loopback_client(),
        WebhookSettings {
            url: receiver.url("hook"),
            verb,
            custom_headers: Vec::new(),
            sensitive_headers: Vec::new(),
            timeout: Duration::from_secs(5),
            signer,
            oauth2: None,
            tls: None,
        },
    )
}

async fn deliver(signer: Signer, verb: Verb, sign: bool) -> Received {
    let mut receiver = Receiver::start(vec![]).await;
    notifier(&receiver, verb, signer)
        .send("msg_2Kx9", Bytes::from(BODY), sign)
        .await
        .expect("delivered");
    receiver.next().await
}

#[tokio::test]
async fn a_v1_signature_verifies_with_the_standardwebhooks_crate_and_fails_when_tampered() {
    let secret = generate_secret();
    let signer = Signer::new(std::slice::from_ref(&secret), &[]).expect("valid secret");
    let request = deliver(signer.clone(), Verb::Post, true).await;
    let signature = request.header("webhook-signature").expect("signed");
    assert!(signature.starts_with("v1,"), "{signature}");

    let verifier = Webhook::new(secret.expose()).expect("the library reads our secret");
    verifier
        .verify(&request.body, &request.headers)
        .expect("our signature verifies");

    let tampered = BODY.replace("create", "delete");
    assert!(matches!(
        verifier.verify(tampered.as_bytes(), &request.headers),
        Err(WebhookError::InvalidSignature)
    ));
    let mut other_id = request.headers.clone();
    other_id.insert("webhook-id", "msg_other".parse().expect("header"));
    assert!(verifier.verify(&request.body, &other_id).is_err());

    let wrong = Webhook::new(generate_secret().expose()).expect("valid secret");
    assert!(matches!(
        wrong.verify(&request.body, &request.headers),
        Err(WebhookError::InvalidSignature)
    ));

    // A replay of a signature made ten minutes ago: the signature itself is right (checked with a
    // fresh timestamp first), the timestamp is what fails.
    let mut headers = request.headers.clone();
    let fresh = now();
    headers.insert("webhook-timestamp", fresh.into());
    let fresh_signature = signer.sign("msg_2Kx9", fresh, BODY.as_bytes());
    headers.insert(
        "webhook-signature",
        fresh_signature.parse().expect("header"),
    );
    verifier
        .verify(BODY.as_bytes(), &headers)
        .expect("a fresh signature verifies");
    let stale = fresh - 600;
    headers.insert("webhook-timestamp", stale.into());
    let stale_signature = signer.sign("msg_2Kx9", stale, BODY.as_bytes());
    headers.insert(
        "webhook-signature",
        stale_signature.parse().expect("header"),
    );
    assert!(matches!(
        verifier.verify(BODY.as_bytes(), &headers),
        Err(WebhookError::TimestampTooOldError)
    ));
}

#[tokio::test]
async fn during_a_rotation_receivers_with_the_old_or_the_new_secret_both_verify() {
    let (old, new) = (generate_secret(), generate_secret());
    let signer = Signer::new(&[old.clone(), new.clone()], &[]).expect("valid secrets");
    let request = deliver(signer, Verb::Post, true).await;
    let signature = request.header("webhook-signature").expect("signed");
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    for secret in [old, new] {
        Webhook::new(secret.expose())
            .expect("valid secret")
            .verify(&request.body, &request.headers)
            .expect("each secret verifies");
    }
}

/// Verifies every `v1a,` signature of `request` over `body` with the `whpk_` public key.
fn verify_v1a(public_key: &str, request: &Received, body: &[u8]) -> bool {
    let key: [u8; 32] = BASE64
        .decode(public_key.strip_prefix("whpk_").expect("whpk_ prefix"))
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    let key = VerifyingKey::from_bytes(&key).expect("a valid public key");
    let id = request.header("webhook-id").expect("id");
    let timestamp = request.header("webhook-timestamp").expect("timestamp");
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let signatures: Vec<&str> = request
        .header("webhook-signature")
        .expect("signed")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1a,"))
        .collect();
    !signatures.is_empty()
        && signatures.iter().all(|s| {
            let bytes: [u8; 64] = BASE64
                .decode(s)
                .expect("base64")
                .try_into()
                .expect("64 bytes");
            key.verify(&signed, &Signature::from_bytes(&bytes)).is_ok()
        })
}

#[tokio::test]
async fn a_v1a_signature_verifies_with_the_public_key_that_keys_show_prints() {
    let (private, public) = generate_key_pair();
    let secret = generate_secret();
    let signer = Signer::new(
        std::slice::from_ref(&secret),
        &[Secret::from(private.expose().as_str())],
    )
    .expect("valid");
    assert_eq!(signer.public_keys(), std::slice::from_ref(&public));
    let request = deliver(signer, Verb::Post, true).await;
    let signature = request.header("webhook-signature").expect("signed");
    assert!(
        signature.starts_with("v1,") && signature.contains(" v1a,"),
        "{signature}"
    );
    assert!(verify_v1a(&public, &request, &request.body));
    assert!(!verify_v1a(&public, &request, b"{\"id\":\"forged\"}"));
    let (_, other_public) = generate_key_pair();
    assert!(!verify_v1a(&other_public, &request, &request.body));
    // The symmetric signature in the same header still verifies on its own.
    Webhook::new(secret.expose())
        .expect("valid secret")
        .verify(&request.body, &request.headers)
        .expect("v1 verifies next to v1a");
}

#[tokio::test]
async fn a_get_signs_an_empty_body_and_unsigned_subscriptions_send_no_signature() {
    let secret = generate_secret();
    let signer = Signer::new(std::slice::from_ref(&secret), &[]).expect("valid secret");
    let request = deliver(signer.clone(), Verb::Get, true).await;
    assert!(request.body.is_empty());
    Webhook::new(secret.expose())
        .expect("valid secret")
        .verify(b"", &request.headers)
        .expect("the signature covers the empty body");

    let unsigned = deliver(signer, Verb::Post, false).await;
    assert_eq!(unsigned.header("webhook-signature"), None);
    assert!(unsigned.header("webhook-id").is_some());
    let nothing_to_sign = deliver(Signer::default(), Verb::Post, true).await;
    assert_eq!(nothing_to_sign.header("webhook-signature"), None);
}
