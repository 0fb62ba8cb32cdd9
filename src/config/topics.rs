//! Compiles the topic files: each topic's rules per source, parsed filters, and its subscriptions
//! with their destination and template resolved.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checks::{Problems, check_name, choices};
use super::files::{RouterFile, SubscriptionConfig, TopicFile, TopicSource as TopicSourceConfig};

use crate::channels;
use crate::digest::Digest;
use crate::mute::{Mute, NamedInterval};
use crate::render::{Channel, Templates};
use crate::routing::{Destination, Rule, SourceIndex, Subscription, Topic, TopicSource};

/// What every topic file is checked against.
struct Known<'a> {
    source_ids: Vec<&'a str>,
    /// The named time intervals of `router.yaml` that compiled.
    intervals: &'a HashMap<String, Arc<NamedInterval>>,
    /// Every time interval named in `router.yaml`, valid or not.
    interval_names: Vec<&'a str>,
    /// Every destination named in `router.yaml`, valid or not.
    destination_ids: Vec<&'a str>,
    /// The destinations that compiled.
    destinations: &'a [Destination],
    templates: &'a Templates,
}

/// Compiles every topic file, in order; returns the topics and all their subscriptions, each
/// also added, with its channel's attributes, to its destination in `channels`.
pub(super) fn compile_topics(
    topic_files: &[(PathBuf, TopicFile)],
    router: &RouterFile,
    intervals: &HashMap<String, Arc<NamedInterval>>,
    destinations: &[Destination],
    channels: &mut [channels::Destination],
    templates: &Templates,
    problems: &mut Problems,
) -> (Vec<Topic>, Vec<Subscription>) {
    let known = Known {
        source_ids: router.sources.iter().map(|s| s.id.as_str()).collect(),
        intervals,
        interval_names: router
            .time_intervals
            .iter()
            .map(|t| t.name.as_str())
            .collect(),
        destination_ids: router.destinations.iter().map(|d| d.id()).collect(),
        destinations,
        templates,
    };
    let mut topics: Vec<Topic> = Vec::new();
    let mut subscriptions = Vec::new();
    let mut subscription_files: HashMap<String, PathBuf> = HashMap::new();
    for (file, topic_file) in topic_files {
        if let Err(why) = check_name(&topic_file.name) {
            problems.add(file, "name", why.to_string());
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
            if let Some(subscription) = subscription(
                config,
                topics.len(),
                &item,
                file,
                &known,
                channels,
                problems,
            ) {
                let index = subscriptions.len();
                for (field, why) in channels[subscription.destination].subscribe(index, config) {
                    problems.add(file, format!("{item}.{field}"), why);
                }
                topic_subscriptions.push(index);
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
    channels: &[channels::Destination],
    problems: &mut Problems,
) -> Option<Subscription> {
    if let Err(why) = check_name(&config.name) {
        problems.add(file, format!("{item}.name"), why.to_string());
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
    let channel = channels[destination].channel();
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
    let mute = mute(config, item, file, known, problems);
    let digest = digest(config, channel, item, file, problems);
    if let (Some(digest), Some(template)) = (&digest, &config.template)
        && known.templates.contains(channel, template)
        && let Err(why) = renders_a_digest(known.templates, channel, template, digest)
    {
        problems.add(file, format!("{item}.template"), why);
    }
    Some(Subscription {
        name: config.name.clone(),
        topic,
        destination,
        mute,
        digest,
    })
}

/// A subscription's `digest:`, checked; only webhook, email and Slack destinations send them.
fn digest(
    config: &SubscriptionConfig,
    channel: Channel,
    item: &str,
    file: &Path,
    problems: &mut Problems,
) -> Option<Arc<Digest>> {
    let digest = config.digest.as_ref()?;
    if !matches!(channel, Channel::Webhook | Channel::Email | Channel::Slack) {
        let why = format!(
            "digests are sent to webhook, email and slack destinations, not {}",
            channel.folder()
        );
        problems.add(file, format!("{item}.digest"), why);
        return None;
    }
    match digest.compile() {
        Ok(digest) => Some(Arc::new(digest)),
        Err(found) => {
            for problem in found {
                problems.add(
                    file,
                    format!("{item}.digest.{}", problem.field),
                    problem.why,
                );
            }
            None
        }
    }
}

/// Whether `template` renders a digest of `channel`: a subscription with `digest` renders its
/// template with a digest's context (`notifications`, `group`, `count`), which a template of one
/// notification fails on at send time. Checked on a digest of none, with each group value null:
/// a template that needs a notification's fields outside `{{#each notifications}}` is refused.
fn renders_a_digest(
    templates: &Templates,
    channel: Channel,
    template: &str,
    digest: &Digest,
) -> Result<(), String> {
    let group = digest
        .group_by
        .iter()
        .map(|(path, _)| (path.clone(), serde_json::Value::Null))
        .collect();
    let sample = crate::render::digest_context(Vec::new(), group);
    let rendered = match channel {
        Channel::Webhook => templates.render_webhook(template, &sample).map(drop),
        Channel::Email => templates.render_email(template, &sample).map(drop),
        Channel::Slack => templates
            .render_slack(template, &sample)
            .and_then(|message| {
                channels::slack::check_shape(&message).map_err(|why| {
                    crate::render::RenderError::InvalidMessage {
                        name: template.to_owned(),
                        message: why.to_string(),
                    }
                })
            }),
        _ => Ok(()),
    };
    rendered.map_err(|error| {
        let shipped = match channel {
            Channel::Email => "email/digest",
            Channel::Slack => "slack/digest.json.hbs",
            _ => "webhook/digest.json.hbs",
        };
        format!(
            "{template:?} does not render a digest ({error}): with `digest`, the template sees \
             `notifications`, `group` and `count` instead of one notification; use a digest \
             template such as {shipped}, or none for the default digest"
        )
    })
}

/// A subscription's mute windows, their names looked up in `router.yaml`'s `time_intervals`.
fn mute(
    config: &SubscriptionConfig,
    item: &str,
    file: &Path,
    known: &Known<'_>,
    problems: &mut Problems,
) -> Option<Arc<Mute>> {
    let mut lookup = |field: &str, names: &[String]| -> Vec<Arc<NamedInterval>> {
        let mut found = Vec::new();
        for name in names {
            match known.intervals.get(name) {
                Some(interval) => found.push(interval.clone()),
                // One that exists but did not compile has its own problem already.
                None if known.interval_names.contains(&name.as_str()) => {}
                None => {
                    let why = format!(
                        "unknown time interval {name:?}; valid (router.yaml time_intervals): {}",
                        choices(&known.interval_names)
                    );
                    problems.add(file, format!("{item}.{field}"), why);
                }
            }
        }
        found
    };
    let muting = lookup("mute_time_intervals", &config.mute_time_intervals);
    let active = lookup("active_time_intervals", &config.active_time_intervals);
    if config.mute_time_intervals.is_empty() && config.active_time_intervals.is_empty() {
        if config.when_muted.is_some() {
            let why = "has no effect without mute_time_intervals or active_time_intervals";
            problems.add(file, format!("{item}.when_muted"), why);
        }
        return None;
    }
    Some(Arc::new(Mute {
        mute: muting,
        active,
        when_muted: config.when_muted.unwrap_or_default(),
    }))
}
