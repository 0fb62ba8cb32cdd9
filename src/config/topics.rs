//! Compiles the topic files: each topic's rules per source, parsed filters, and its subscriptions
//! with their destination and template resolved.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::checks::{Problems, check_name, choices};
use super::files::{RouterFile, SubscriptionConfig, TopicFile, TopicSource as TopicSourceConfig};
use lettre::Address;
use lettre::message::Mailbox;

use crate::channels::SlackTarget;
use crate::channels::slack::check_color;
use crate::render::{Channel, Templates};
use crate::routing::{
    ChannelAttributes, Destination, DestinationKind, EmailAttributes, Rule, SlackAttributes,
    SourceIndex, Subscription, Topic, TopicSource, WebhookAttributes,
};

/// What every topic file is checked against.
struct Known<'a> {
    source_ids: Vec<&'a str>,
    /// Every destination named in `router.yaml`, valid or not.
    destination_ids: Vec<&'a str>,
    /// The destinations that compiled.
    destinations: &'a [Destination],
    templates: &'a Templates,
}

/// Compiles every topic file, in order; returns the topics and all their subscriptions.
pub fn compile_topics(
    topic_files: &[(PathBuf, TopicFile)],
    router: &RouterFile,
    destinations: &[Destination],
    templates: &Templates,
    problems: &mut Problems,
) -> (Vec<Topic>, Vec<Subscription>) {
    let known = Known {
        source_ids: router.sources.iter().map(|s| s.id.as_str()).collect(),
        destination_ids: router.destinations.iter().map(|d| d.id()).collect(),
        destinations,
        templates,
    };
    let mut topics: Vec<Topic> = Vec::new();
    let mut subscriptions = Vec::new();
    let mut subscription_files: HashMap<String, PathBuf> = HashMap::new();
    for (file, topic_file) in topic_files {
        if let Err(why) = check_name(&topic_file.name) {
            problems.add(file, "name", why);
        }
        if let Some(other) = topics.iter().find(|t| t.name == topic_file.name) {
            let why = format!(
                "topic {:?} is also defined in {}",
                topic_file.name,
                other.file.display()
            );
            problems.add(file, "name", why);
        }
        if topic_file.sources.is_empty() {
            let why = format!(
                "is empty: name at least one source; valid: {}",
                choices(&known.source_ids)
            );
            problems.add(file, "sources", why);
        }
        let sources = topic_sources(&topic_file.sources, file, &known, problems);
        let mut topic_subscriptions = Vec::new();
        for (n, config) in topic_file.subscriptions.iter().enumerate() {
            let item = format!("subscriptions[{n}] ({})", config.name);
            if let Some(other) = subscription_files.insert(config.name.clone(), file.clone()) {
                let why = format!(
                    "duplicate subscription name {:?}, also in {}",
                    config.name,
                    other.display()
                );
                problems.add(file, item.clone(), why);
            }
            if let Some(subscription) =
                subscription(config, topics.len(), &item, file, &known, problems)
            {
                topic_subscriptions.push(subscriptions.len());
                subscriptions.push(subscription);
            }
        }
        topic_subscriptions.shrink_to_fit();
        topics.push(Topic {
            name: topic_file.name.clone(),
            description: topic_file.description.clone(),
            file: file.clone(),
            sources,
            subscriptions: topic_subscriptions,
        });
    }
    topics.shrink_to_fit();
    subscriptions.shrink_to_fit();
    (topics, subscriptions)
}

/// A topic's sources with their parsed rules; unknown or repeated sources are problems.
fn topic_sources(
    configs: &[TopicSourceConfig],
    file: &Path,
    known: &Known<'_>,
    problems: &mut Problems,
) -> Vec<TopicSource> {
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for (s, config) in configs.iter().enumerate() {
        let item = format!("sources[{s}]");
        let Some(source) = known.source_ids.iter().position(|id| *id == config.id) else {
            let why = format!(
                "unknown source {:?}; valid: {}",
                config.id,
                choices(&known.source_ids)
            );
            problems.add(file, format!("{item}.id"), why);
            continue;
        };
        if !seen.insert(source) {
            let why = format!(
                "source {:?} is listed twice: put all its rules in one entry",
                config.id
            );
            problems.add(file, format!("{item}.id"), why);
        }
        let mut rules = Vec::new();
        for (r, rule) in config.rules.iter().enumerate() {
            let item = format!("{item}.rules[{r}]");
            let event_type_filter = problems.filter(
                &rule.event_type_filter,
                file,
                &format!("{item}.event_type_filter"),
            );
            let notification_filter = match &rule.notification_filter {
                None => Some(None),
                Some(f) => problems
                    .filter(f, file, &format!("{item}.notification_filter"))
                    .map(Some),
            };
            if let (Some(event_type_filter), Some(notification_filter)) =
                (event_type_filter, notification_filter)
            {
                rules.push(Rule {
                    enabled: rule.enabled,
                    event_type_filter,
                    notification_filter,
                });
            }
        }
        rules.shrink_to_fit();
        sources.push(TopicSource {
            source: SourceIndex(source),
            rules,
        });
    }
    sources.shrink_to_fit();
    sources
}

/// One subscription with its destination and template resolved, or `None` after a problem.
fn subscription(
    config: &SubscriptionConfig,
    topic: usize,
    item: &str,
    file: &Path,
    known: &Known<'_>,
    problems: &mut Problems,
) -> Option<Subscription> {
    if let Err(why) = check_name(&config.name) {
        problems.add(file, format!("{item}.name"), why);
    }
    let Some(destination) = known
        .destinations
        .iter()
        .position(|d| d.id == config.destination)
    else {
        // A destination that exists but did not compile has its own problem already.
        if !known.destination_ids.contains(&config.destination.as_str()) {
            let why = format!(
                "unknown destination {:?}; valid: {}",
                config.destination,
                choices(&known.destination_ids)
            );
            problems.add(file, format!("{item}.destination"), why);
        }
        return None;
    };
    let kind = &known.destinations[destination].kind;
    let channel = kind.channel();
    if let Some(template) = &config.template
        && !known.templates.contains(channel, template)
    {
        let why = match channel {
            Channel::Email
                if template.starts_with("email/")
                    && !template.ends_with(".hbs")
                    && known.templates.email_parts_missing(template).len() < 3 =>
            {
                let missing = known.templates.email_parts_missing(template);
                format!("email template {template:?} lacks {}", missing.join(", "))
            }
            _ => {
                let names = known.templates.names(channel);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let hint = if channel == Channel::Email {
                    " (an email template is named email/NAME, for its .subject.hbs, .text.hbs \
                     and .html.hbs files)"
                } else {
                    ""
                };
                format!(
                    "unknown {} template {template:?}{hint}; valid: {}",
                    channel.folder(),
                    choices(&names)
                )
            }
        };
        problems.add(file, format!("{item}.template"), why);
    }
    let attributes = channel_attributes(config, kind, item, file, problems);
    Some(Subscription {
        name: config.name.clone(),
        topic,
        destination,
        template: config.template.clone(),
        channel: attributes,
    })
}

/// The most recipients one subscription may have, as in Event Notifications.
pub const MAX_RECIPIENTS: usize = 10_000;

/// The subscription's attributes for the channel of its destination; an attribute of another
/// channel, or an invalid one, is a problem.
fn channel_attributes(
    config: &SubscriptionConfig,
    kind: &DestinationKind,
    item: &str,
    file: &Path,
    problems: &mut Problems,
) -> ChannelAttributes {
    let channel = kind.channel();
    let set: [(&str, bool, Channel); 8] = [
        (
            "signing_enabled",
            config.signing_enabled.is_some(),
            Channel::Webhook,
        ),
        ("recipients", config.recipients.is_some(), Channel::Email),
        (
            "add_notification_payload",
            config.add_notification_payload.is_some(),
            Channel::Email,
        ),
        (
            "reply_to_mail",
            config.reply_to_mail.is_some(),
            Channel::Email,
        ),
        (
            "reply_to_name",
            config.reply_to_name.is_some(),
            Channel::Email,
        ),
        ("from_name", config.from_name.is_some(), Channel::Email),
        ("channels", config.channels.is_some(), Channel::Slack),
        (
            "attachment_color",
            config.attachment_color.is_some(),
            Channel::Slack,
        ),
    ];
    for (field, _, of) in set
        .iter()
        .filter(|(_, is_set, of)| *is_set && *of != channel)
    {
        let why = format!(
            "is an attribute of {} subscriptions, but destination {:?} is a {} destination",
            of.folder(),
            config.destination,
            channel.folder()
        );
        problems.add(file, format!("{item}.{field}"), why);
    }
    match kind {
        DestinationKind::Webhook(settings) => {
            let can_sign = !settings.signer.is_empty();
            if config.signing_enabled == Some(true) && !can_sign {
                let why = format!(
                    "is true, but destination {:?} has no signing secrets or keys: add `signing` \
                     to it",
                    config.destination
                );
                problems.add(file, format!("{item}.signing_enabled"), why);
            }
            ChannelAttributes::Webhook(WebhookAttributes {
                signing_enabled: config.signing_enabled.unwrap_or(can_sign) && can_sign,
            })
        }
        DestinationKind::Email(_) => {
            ChannelAttributes::Email(email_attributes(config, item, file, problems))
        }
        DestinationKind::Slack(settings) => {
            let channels = config.channels.clone().unwrap_or_default();
            let is_bot = matches!(settings.target, SlackTarget::Bot { .. });
            if is_bot && channels.is_empty() {
                let why = "is empty: a bot destination posts to the channels named here";
                problems.add(file, format!("{item}.channels"), why);
            }
            if !is_bot && !channels.is_empty() {
                let why = "an incoming webhook posts to the channel it was created for: \
                           remove `channels`, or use a bot destination";
                problems.add(file, format!("{item}.channels"), why);
            }
            for channel in channels.iter().filter(|c| c.trim().is_empty()) {
                problems.add(
                    file,
                    format!("{item}.channels"),
                    format!("{channel:?} is not a channel"),
                );
            }
            if let Some(color) = &config.attachment_color
                && let Err(why) = check_color(color)
            {
                problems.add(file, format!("{item}.attachment_color"), why);
            }
            ChannelAttributes::Slack(SlackAttributes {
                channels,
                attachment_color: config.attachment_color.clone(),
            })
        }
    }
}

fn email_attributes(
    config: &SubscriptionConfig,
    item: &str,
    file: &Path,
    problems: &mut Problems,
) -> EmailAttributes {
    let given = config.recipients.as_deref().unwrap_or_default();
    let field = format!("{item}.recipients");
    if given.is_empty() {
        problems.add(file, &field, "is empty: name at least one address");
    }
    if given.len() > MAX_RECIPIENTS {
        let why = format!("has {} addresses; at most {MAX_RECIPIENTS}", given.len());
        problems.add(file, &field, why);
    }
    let mut recipients: Vec<Address> = Vec::with_capacity(given.len());
    for (i, text) in given.iter().enumerate() {
        match text.trim().parse::<Address>() {
            Ok(address) if recipients.contains(&address) => {
                problems.add(
                    file,
                    format!("{field}[{i}]"),
                    format!("{text:?} is listed twice"),
                );
            }
            Ok(address) => recipients.push(address),
            Err(e) => {
                let why = format!("{text:?} is not an email address: {e}");
                problems.add(file, format!("{field}[{i}]"), why);
            }
        }
    }
    let reply_to = match (&config.reply_to_mail, &config.reply_to_name) {
        (Some(mail), name) => match mail.trim().parse::<Address>() {
            Ok(address) => Some(Mailbox::new(name.clone(), address)),
            Err(e) => {
                let why = format!("{mail:?} is not an email address: {e}");
                problems.add(file, format!("{item}.reply_to_mail"), why);
                None
            }
        },
        (None, Some(_)) => {
            let why = "names the reply address, so it needs reply_to_mail";
            problems.add(file, format!("{item}.reply_to_name"), why);
            None
        }
        (None, None) => None,
    };
    EmailAttributes {
        recipients,
        add_notification_payload: config.add_notification_payload.unwrap_or(false),
        reply_to,
        from_name: config.from_name.clone(),
    }
}
