//! Topic files, written by topic owners, cannot read the operator's environment or files out
//! of their folder.

use super::*;

/// Issue 17, item 1: topic owners write topic files, operators the environment. A topic file
/// reading `${ROUTER_ADMIN_TOKEN}` (in a description the admin API shows to anyone, a sender
/// name mailed outside, a template path) is refused, naming the file, the item and the
/// variable; only what `router.yaml` lists in `topic_variables` is read.
#[test]
fn a_topic_file_cannot_read_the_operators_environment() {
    const CANARY: &str = "canary-admin-token-Qw7";
    let env = |name: &str| match name {
        "ROUTER_ADMIN_TOKEN" => Some(CANARY.to_owned()),
        "REGION" => Some("us-south".to_owned()),
        _ => None,
    };
    let (dir, router) = shipped_copy();
    let topic = dir.path().join("topics/instance-failures.yaml");
    let text = std::fs::read_to_string(&topic).expect("read");
    let edits = [
        (
            "description: Provisioning",
            "description: leak ${ROUTER_ADMIN_TOKEN} Provisioning",
        ),
        (
            "reply_to_name: Platform team",
            "reply_to_name: Platform team\n    from_name: \"token=${ROUTER_ADMIN_TOKEN:-none}\"",
        ),
        (
            "template: slack/lifecycle.json.hbs",
            "template: slack/${ROUTER_ADMIN_TOKEN}.json.hbs",
        ),
    ];
    let mut edited = text.clone();
    for (find, replace) in edits {
        assert!(edited.contains(find), "{find:?}");
        edited = edited.replacen(find, replace, 1);
    }
    std::fs::write(&topic, &edited).expect("write");

    let Err(errors) = load_with(&router, &env) else {
        panic!("a topic file reading ROUTER_ADMIN_TOKEN was accepted");
    };
    let prefix = dir.path().display().to_string();
    let got: Vec<String> = errors
        .0
        .iter()
        .map(|e| e.to_string().replace(&prefix, "$DIR"))
        .collect();
    let refused = |item: &str| {
        format!(
            "$DIR/topics/instance-failures.yaml: {item}: variable ROUTER_ADMIN_TOKEN is not listed \
             in topic_variables of router.yaml: a topic file may read only those (listed: none); \
             write $${{ for a literal ${{"
        )
    };
    assert_eq!(
        got,
        [
            refused("description"),
            refused("subscriptions[1].from_name"),
            refused("subscriptions[2].template"),
        ]
    );
    assert!(!got.concat().contains(CANARY), "{got:?}");

    // Listed variables are read; the token still is not, even when it is set.
    let router_text = std::fs::read_to_string(&router).expect("read");
    std::fs::write(
        &router,
        format!("{router_text}\ntopic_variables: [REGION]\n"),
    )
    .expect("write");
    std::fs::write(
        &topic,
        text.replacen(
            "description: Provisioning",
            "description: ${REGION} $${ROUTER_ADMIN_TOKEN} Provisioning",
            1,
        ),
    )
    .expect("write");
    let config = load_with(&router, &env).unwrap_or_else(|e| panic!("{e}"));
    let description = config
        .table
        .topics()
        .iter()
        .find(|t| t.name == "instance-failures")
        .and_then(|t| t.description.clone())
        .expect("the topic's description");
    assert!(
        description.starts_with("us-south ${ROUTER_ADMIN_TOKEN} Provisioning"),
        "{description}"
    );
}

/// Issue 17, item 2: a topic file that is a link to a file outside the topics folder is refused,
/// naming the file; a link within the folder loads.
#[test]
fn a_topic_file_linked_outside_the_topics_folder_is_refused() {
    use std::os::unix::fs::symlink;
    let (dir, router) = shipped_copy();
    let topics = dir.path().join("topics");
    let outside = dir.path().join("elsewhere.yaml");
    std::fs::rename(topics.join("instance-failures.yaml"), &outside).expect("move");
    symlink(&outside, topics.join("instance-failures.yaml")).expect("link");
    let Err(errors) = load_with(&router, &no_env) else {
        panic!("a topic file linked outside the folder was accepted");
    };
    let prefix = dir.path().display().to_string();
    let got: Vec<String> = errors
        .0
        .iter()
        .map(|e| e.to_string().replace(&prefix, "$DIR"))
        .collect();
    assert!(
        got[0].starts_with(
            "$DIR/topics/instance-failures.yaml: file: leads to $DIR/elsewhere.yaml, outside the topics folder $DIR/topics"
        ),
        "{got:?}"
    );

    std::fs::create_dir(topics.join("..data")).expect("mkdir");
    std::fs::rename(&outside, topics.join("..data/instance-failures.yaml")).expect("move");
    std::fs::remove_file(topics.join("instance-failures.yaml")).expect("rm");
    symlink(
        "..data/instance-failures.yaml",
        topics.join("instance-failures.yaml"),
    )
    .expect("link");
    load_with(&router, &no_env).unwrap_or_else(|e| panic!("a link inside loads:\n{e}"));
}
