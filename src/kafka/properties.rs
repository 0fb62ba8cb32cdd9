//! The checks every set of librdkafka properties passes, whoever wrote it (`kafka.properties`,
//! a Kafka destination's own `properties`): no code loaded, TLS verification kept, no password in
//! clear off this machine.

use std::collections::BTreeMap;

use super::client::{
    CLEARTEXT_SASL_MECHANISMS, CODE_LOADING_PROPERTIES, SHELL_INTERPOLATED_PROPERTIES,
    brokers_are_loopback,
};
use crate::secret::Secret;

/// Every property of `properties` a client connecting to `brokers` may not be given: each with
/// its key as written and the reason, in key order.
pub fn refused_properties(
    brokers: &str,
    properties: &BTreeMap<String, Secret>,
) -> Vec<(String, String)> {
    let mut refused: Vec<(String, String)> = properties
        .iter()
        .filter_map(|(key, value)| {
            check_tls_verification(key, value.expose())
                .and_then(|()| check_no_code(key, value.expose()))
                .err()
                .map(|why| (key.clone(), why.to_owned()))
        })
        .collect();
    if let Err(refusal) = check_sasl_transport(brokers, properties) {
        refused.push(refusal);
    }
    refused
}

/// librdkafka loads no library and runs no command named in the configuration: the router's
/// process holds every secret, and properties are no place to run code in it.
fn check_no_code(key: &str, value: &str) -> Result<(), &'static str> {
    let key = key.trim().to_ascii_lowercase();
    if CODE_LOADING_PROPERTIES.contains(&key.as_str()) {
        return Err(
            "is refused: it makes librdkafka load a library or run a command inside the \
             router; the router's TLS and SASL settings need none",
        );
    }
    let shell = |c: char| c.is_control() || "\"'`$;|&<>(){}\\*?!#~".contains(c);
    if SHELL_INTERPOLATED_PROPERTIES.contains(&key.as_str()) && value.contains(shell) {
        return Err(
            "may not hold quotes, `$`, `;`, `|`, `&` or other shell characters: librdkafka \
             pastes it into a shell command",
        );
    }
    Ok(())
}

/// A password (SASL PLAIN) or bearer token (OAUTHBEARER) is sent over TLS (`SASL_SSL`), or in
/// clear only to brokers on this machine — as SMTP credentials are.
fn check_sasl_transport(
    brokers: &str,
    properties: &BTreeMap<String, Secret>,
) -> Result<(), (String, String)> {
    let property = |name: &str| {
        properties
            .iter()
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(key, value)| (key.clone(), value.expose().trim().to_owned()))
    };
    let Some((_, protocol)) = property("security.protocol") else {
        return Ok(());
    };
    if !protocol.eq_ignore_ascii_case("sasl_plaintext") {
        return Ok(());
    }
    let Some((key, mechanisms)) =
        property("sasl.mechanisms").or_else(|| property("sasl.mechanism"))
    else {
        return Ok(()); // librdkafka's default, GSSAPI, sends no password
    };
    let cleartext = mechanisms.split(',').map(str::trim).find(|m| {
        CLEARTEXT_SASL_MECHANISMS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(m))
    });
    match cleartext {
        Some(mechanism) if !brokers_are_loopback(brokers) => Err((
            key,
            format!(
                "{mechanism} over security.protocol SASL_PLAINTEXT sends the credential in \
                 clear to brokers off this machine: use SASL_SSL (or SCRAM-SHA-512)"
            ),
        )),
        _ => Ok(()),
    }
}

/// Broker certificates and their host names are always verified: the properties that would
/// turn either check off are refused (librdkafka's defaults, `https` and `true`, are kept).
fn check_tls_verification(key: &str, value: &str) -> Result<(), &'static str> {
    let value = value.trim();
    match key.trim().to_ascii_lowercase().as_str() {
        "ssl.endpoint.identification.algorithm" if !value.eq_ignore_ascii_case("https") => Err(
            "may only be `https`: the broker's host name is always checked against its \
             certificate; give the broker a certificate for the name in the brokers list",
        ),
        "enable.ssl.certificate.verification" if !value.eq_ignore_ascii_case("true") => Err(
            "may only be `true`: broker certificates are always verified; trust a private CA \
             with ssl.ca.location",
        ),
        _ => Ok(()),
    }
}
