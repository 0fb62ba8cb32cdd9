//! Rejections of structured and binary-mode CloudEvents, with their exact details.

use serde_json::json;

use super::{Headers, check, fixture, json_bytes, with, without};
use crate::event::RejectReason::*;

#[test]
fn structured_cloudevents_that_are_rejected() {
    let ce = || fixture("cloudevent-structured.json");
    let set = |pointer, value| json_bytes(with(ce(), pointer, value));
    let not_lifecycle = "\"com.example.thing.happened\": expected com.ibm.cloud.resource-lifecycle-events.<type>:<sub_type>";
    let capitalised = "\"com.ibm.cloud.resource-lifecycle-events.Resource_group:create\": type \"Resource_group\" is not one of instance, key, resource_group";
    let foreign = "event names source other-source but arrived on a topic of source rc-lifecycle";
    check(vec![
        (
            "specversion 0.3",
            set("/specversion", json!("0.3")),
            &[],
            InvalidField,
            "field \"specversion\" is \"0.3\", expected \"1.0\"",
        ),
        (
            "specversion number",
            set("/specversion", json!(1.0)),
            &[],
            InvalidField,
            "field \"specversion\" is a number, expected the string \"1.0\"",
        ),
        (
            "no id",
            json_bytes(without(ce(), "id")),
            &[],
            MissingField,
            "missing field \"id\"",
        ),
        (
            "empty source",
            set("/source", json!("")),
            &[],
            InvalidField,
            "field \"source\" is empty",
        ),
        (
            "type number",
            set("/type", json!(7)),
            &[],
            InvalidField,
            "field \"type\" is a number, expected a string",
        ),
        (
            "bad time",
            set("/time", json!("now")),
            &[],
            InvalidField,
            "field \"time\" is \"now\", expected an RFC 3339 time such as \"2022-09-30T16:18:55Z\"",
        ),
        (
            "subject object",
            set("/subject", json!({})),
            &[],
            InvalidField,
            "field \"subject\" is an object, expected a string",
        ),
        (
            "both data kinds",
            set("/data_base64", json!("e30=")),
            &[],
            InvalidField,
            "field \"data_base64\" is given together with data; an event carries at most one of them",
        ),
        (
            "not lifecycle",
            set("/type", json!("com.example.thing.happened")),
            &[],
            UnknownEventType,
            not_lifecycle,
        ),
        (
            "type case",
            set(
                "/type",
                json!("com.ibm.cloud.resource-lifecycle-events.Resource_group:create"),
            ),
            &[],
            UnknownEventType,
            capitalised,
        ),
        (
            "foreign source",
            set("/ibmensourceid", json!("other-source")),
            &[],
            UnknownSource,
            foreign,
        ),
        (
            "source id number",
            set("/ibmensourceid", json!(3)),
            &[],
            InvalidField,
            "field \"ibmensourceid\" is a number, expected a string",
        ),
    ]);
}

#[test]
fn binary_cloudevents_that_are_rejected() {
    const TYPE: &str = "com.ibm.cloud.resource-lifecycle-events.instance:create";
    let good: &Headers<'_> = &[
        ("ce_specversion", Some(b"1.0")),
        ("ce_id", Some(b"b-1")),
        ("ce_source", Some(b"/rc")),
        ("ce_type", Some(TYPE.as_bytes())),
    ];
    let with_header = |name: &'static str, value: Option<&'static [u8]>| {
        let mut headers: Vec<_> = good.iter().filter(|(n, _)| *n != name).copied().collect();
        headers.push((name, value));
        headers
    };
    let non_utf8 = with_header("ce_source", Some(b"/r\xffc"));
    let no_id: Vec<_> = good
        .iter()
        .filter(|(n, _)| *n != "ce_id")
        .copied()
        .collect();
    let null_id = with_header("ce_id", None);
    let old = with_header("ce_specversion", Some(b"0.3"));
    let text = with_header("content-type", Some(b"text/plain"));
    let type_other = with_header("ce_type", Some(b"com.example.other"));
    let foreign = with_header("ce_ibmensourceid", Some(b"other-source"));
    let nameless = with_header("ce_", Some(b"x"));
    let data = b"{}".to_vec();
    check(vec![
        (
            "non-UTF-8 header",
            data.clone(),
            &non_utf8,
            InvalidField,
            "header \"ce_source\" is not UTF-8 (byte offset 2)",
        ),
        (
            "no ce_id",
            data.clone(),
            &no_id,
            MissingField,
            "missing header \"ce_id\"",
        ),
        (
            "null ce_id",
            data.clone(),
            &null_id,
            MissingField,
            "missing header \"ce_id\"",
        ),
        (
            "old specversion",
            data.clone(),
            &old,
            InvalidField,
            "header \"ce_specversion\" is \"0.3\", expected \"1.0\"",
        ),
        (
            "text data",
            data.clone(),
            &text,
            InvalidField,
            "header \"content-type\" is \"text/plain\", but only JSON data is supported",
        ),
        (
            "other type",
            data.clone(),
            &type_other,
            UnknownEventType,
            "\"com.example.other\": expected com.ibm.cloud.resource-lifecycle-events.<type>:<sub_type>",
        ),
        (
            "foreign source",
            data.clone(),
            &foreign,
            UnknownSource,
            "event names source other-source but arrived on a topic of source rc-lifecycle",
        ),
        (
            "nameless header",
            data,
            &nameless,
            InvalidField,
            "header \"ce_\" names no attribute",
        ),
        (
            "value not JSON",
            b"hello".to_vec(),
            good,
            NotJson,
            "expected value at line 1 column 1",
        ),
    ]);
}
