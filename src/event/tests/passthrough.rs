//! `cloudevents` sources: any CloudEvent passes with its own type; anything else is rejected.

use serde_json::json;

use super::{Headers, accept_as, check_as, run_as, text};
use crate::event::RejectReason::*;
use crate::event::SourceKind;

const CE: SourceKind = SourceKind::Cloudevents;

#[test]
fn any_cloudevent_passes_with_its_own_type() {
    let event = json!({
        "specversion": "1.0", "id": "o-17", "source": "/billing/invoices",
        "type": "com.example.invoice.overdue", "subject": "invoice-2024-118",
        "time": "2024-07-01T10:00:00Z", "data": {"amount": 120},
    });
    let n = accept_as(CE, &event);
    assert_eq!(n.event_type, "com.example.invoice.overdue");
    assert_eq!(text(&n, "/ibmenseverity"), "LOW");
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "com.example.invoice.overdue: invoice-2024-118"
    );
    assert_eq!(
        text(&n, "/ibmendefaultlong"),
        "Event o-17 from /billing/invoices about invoice-2024-118 at 2024-07-01T10:00:00Z."
    );
    assert_eq!(n.body["data"], json!({"amount": 120}));

    let mut urgent = event.clone();
    urgent["ibmenseverity"] = json!("HIGH");
    urgent["ibmendefaultshort"] = json!("Invoice 2024-118 is overdue");
    let n = accept_as(CE, &urgent);
    assert_eq!(
        text(&n, "/ibmenseverity"),
        "HIGH",
        "given EN extensions are kept"
    );
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Invoice 2024-118 is overdue"
    );

    let headers: &Headers<'_> = &[
        ("ce_specversion", Some(b"1.0")),
        ("ce_id", Some(b"b-1")),
        ("ce_source", Some(b"/ci")),
        ("ce_type", Some(b"dev.example.build.finished")),
    ];
    let n = run_as(CE, &json!({"status": "green"}), headers).expect("accepted");
    assert_eq!(n.event_type, "dev.example.build.finished");
}

#[test]
fn a_value_that_is_not_a_cloudevent_is_rejected() {
    check_as(
        CE,
        vec![
            (
                "a raw event",
                json!({"account_id": "a", "event_type": "x"}),
                MissingField,
                "missing field \"specversion\": a cloudevents source takes CloudEvents only (structured, or binary with ce_* headers)",
            ),
            (
                "no type",
                json!({"specversion": "1.0", "id": "1", "source": "/x"}),
                MissingField,
                "missing field \"type\"",
            ),
        ],
    );
}
