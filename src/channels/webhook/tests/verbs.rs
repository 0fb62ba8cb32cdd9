//! The request verbs a webhook destination may use, as written in its settings.

use crate::channels::Verb;

#[test]
fn verbs_deserialise_in_lowercase() {
    let cases = [
        ("\"post\"", Verb::Post),
        ("\"put\"", Verb::Put),
        ("\"patch\"", Verb::Patch),
        ("\"get\"", Verb::Get),
    ];
    for (text, verb) in cases {
        assert_eq!(
            serde_json::from_str::<Verb>(text).expect("known verb"),
            verb
        );
    }
    assert!(serde_json::from_str::<Verb>("\"POST\"").is_err());
    assert!(serde_json::from_str::<Verb>("\"delete\"").is_err());
}
