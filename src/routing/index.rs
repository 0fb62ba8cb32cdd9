//! The rule index: the routing table's rules compiled so that matching one notification costs
//! about the same at 10 topics as at 10,000.
//!
//! Per source, each enabled rule is filed under one of its [anchors](super::anchor) — the one
//! whose values the fewest other rules share — in a hash map from the anchored field's value (or
//! prefix) to the rules that need it. Matching reads each anchored field of the notification
//! once, looks it up, and evaluates only the rules found there, plus the rules with no anchor,
//! plus nothing for topics that take every event. A candidate is always evaluated in full, so the
//! index finds exactly the topics evaluating every rule would.

use std::collections::HashMap;
use std::fmt;

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::anchor::{Anchor, anchors};
use super::{Rule, SourceIndex, Topic};

/// Rules of every source, ready for matching. Built once with the routing table, from its
/// topics, which it refers to by position.
#[derive(Clone, Default)]
pub struct RuleIndex {
    /// By source index.
    sources: Vec<SourceRules>,
}

#[derive(Clone, Default)]
struct SourceRules {
    /// Where every enabled rule of the source is in the topics.
    rules: Vec<RuleAt>,
    /// Topics that list the source without rules: they take all its events.
    every_event: Vec<usize>,
    /// One entry per anchored path.
    fields: Vec<FieldIndex>,
    /// Rules with no anchor, evaluated one by one.
    scanned: Vec<u32>,
}

/// A rule's place: `topics[topic].sources[slot].rules[rule]`.
#[derive(Debug, Clone, Copy)]
struct RuleAt {
    topic: u32,
    slot: u32,
    rule: u32,
}

impl RuleAt {
    fn get<'t>(&self, topics: &'t [Topic]) -> &'t Rule {
        &topics[self.topic as usize].sources[self.slot as usize].rules[self.rule as usize]
    }
}

/// The rules anchored on one path, by the value or prefix they need there.
#[derive(Clone, Default)]
struct FieldIndex {
    path: Vec<String>,
    exact: Bucket<String>,
    /// By prefix length, shortest first.
    prefixes: Vec<(usize, Bucket<Vec<u8>>)>,
}

/// Rules (by their position in [`SourceRules::rules`]) by the value their anchor needs. Fx
/// hashing: the keys come from configuration and events only look them up, so no input can
/// grow a bucket.
type Bucket<K> = FxHashMap<K, Vec<u32>>;

impl RuleIndex {
    /// Indexes the rules of `topics` for `sources` sources.
    pub fn build(topics: &[Topic], sources: usize) -> RuleIndex {
        let mut index = RuleIndex {
            sources: vec![SourceRules::default(); sources],
        };
        for (t, topic) in topics.iter().enumerate() {
            for (slot, topic_source) in topic.sources.iter().enumerate() {
                let Some(rules) = index.sources.get_mut(topic_source.source.0) else {
                    continue;
                };
                if topic_source.rules.is_empty() {
                    rules.every_event.push(t);
                }
                for (r, rule) in topic_source.rules.iter().enumerate() {
                    if rule.enabled {
                        rules.rules.push(RuleAt {
                            topic: position(t),
                            slot: position(slot),
                            rule: position(r),
                        });
                    }
                }
            }
        }
        for rules in &mut index.sources {
            rules.every_event.dedup();
            rules.file_rules(topics);
        }
        index
    }

    /// The indexes of the `topics` (those the index was built from) with a rule for `source` that
    /// `notification` matches, or no rule for it, in table order.
    pub fn matching_topics(
        &self,
        topics: &[Topic],
        source: SourceIndex,
        notification: &Value,
    ) -> Vec<usize> {
        let Some(rules) = self.sources.get(source.0) else {
            return Vec::new();
        };
        let mut found = rules.every_event.clone();
        let mut check = |candidates: &[u32]| {
            for &candidate in candidates {
                let at = rules.rules[candidate as usize];
                if at.get(topics).matches(notification) {
                    found.push(at.topic as usize);
                }
            }
        };
        for field in &rules.fields {
            let Some(Value::String(text)) = field.lookup(notification) else {
                continue;
            };
            if let Some(found) = field.exact.get(text.as_str()) {
                check(found);
            }
            let bytes = text.as_bytes();
            for (len, by_prefix) in &field.prefixes {
                let Some(prefix) = bytes.get(..*len) else {
                    break;
                };
                if let Some(found) = by_prefix.get(prefix) {
                    check(found);
                }
            }
        }
        check(&rules.scanned);
        found.sort_unstable();
        found.dedup();
        found
    }

    /// How many enabled rules are found by lookup and how many are evaluated one by one.
    pub fn stats(&self) -> IndexStats {
        let mut stats = IndexStats::default();
        for rules in &self.sources {
            stats.rules += rules.rules.len();
            stats.scanned += rules.scanned.len();
            stats.fields += rules.fields.len();
        }
        stats
    }
}

/// What [`RuleIndex::stats`] counts, over every source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Enabled rules.
    pub rules: usize,
    /// Rules with no anchor, evaluated for every event of their source.
    pub scanned: usize,
    /// Distinct anchored paths.
    pub fields: usize,
}

impl SourceRules {
    /// Files each rule under its most selective anchor, or among the scanned rules.
    fn file_rules(&mut self, topics: &[Topic]) {
        let anchors: Vec<Vec<Anchor>> = self.rules.iter().map(|r| anchors(r.get(topics))).collect();
        // How many rules name each (path, value) and (path, prefix): the size of its bucket
        // if every rule were filed under every anchor. A rule picks the anchor whose buckets
        // are smallest, so common values (a popular `$.type`) yield to rarer ones (an account).
        let mut sharing: HashMap<(&[String], bool, &[u8]), usize> = HashMap::new();
        for anchor in anchors.iter().flatten() {
            for key in keys(anchor) {
                *sharing.entry(key).or_default() += 1;
            }
        }
        let mut chosen = Vec::with_capacity(anchors.len());
        for (id, candidates) in anchors.iter().enumerate() {
            let cost = |anchor: &&Anchor| keys(anchor).map(|key| sharing[&key]).sum::<usize>();
            match candidates.iter().min_by_key(cost) {
                Some(anchor) => chosen.push((id, anchor)),
                None => self.scanned.push(id as u32),
            }
        }
        for (id, anchor) in chosen {
            let at = match self.fields.iter().position(|f| f.path == anchor.path) {
                Some(at) => at,
                None => {
                    self.fields.push(FieldIndex {
                        path: anchor.path.clone(),
                        ..FieldIndex::default()
                    });
                    self.fields.len() - 1
                }
            };
            self.fields[at].add(id as u32, anchor);
        }
    }
}

/// A position in the table as stored in the index; tables are far smaller than 2³² items.
fn position(at: usize) -> u32 {
    u32::try_from(at).expect("a routing table has fewer than 2^32 topics, sources and rules")
}

/// The buckets an anchor's rule would be filed in: (path, is a prefix, value).
fn keys(anchor: &Anchor) -> impl Iterator<Item = (&[String], bool, &[u8])> {
    let exact = anchor.exact.iter().map(|v| (false, v.as_bytes()));
    let prefixes = anchor.prefixes.iter().map(|p| (true, p.as_slice()));
    exact
        .chain(prefixes)
        .map(|(prefix, value)| (anchor.path.as_slice(), prefix, value))
}

impl FieldIndex {
    fn add(&mut self, id: u32, anchor: &Anchor) {
        for value in &anchor.exact {
            self.exact.entry(value.clone()).or_default().push(id);
        }
        for prefix in &anchor.prefixes {
            let len = prefix.len();
            let at = match self.prefixes.binary_search_by_key(&len, |(l, _)| *l) {
                Ok(at) => at,
                Err(at) => {
                    self.prefixes.insert(at, (len, Bucket::default()));
                    at
                }
            };
            self.prefixes[at]
                .1
                .entry(prefix.clone())
                .or_default()
                .push(id);
        }
    }

    /// The node the path selects: it is made of member names only, so there is at most one.
    fn lookup<'v>(&self, notification: &'v Value) -> Option<&'v Value> {
        self.path
            .iter()
            .try_fold(notification, |node, name| node.as_object()?.get(name))
    }
}

impl fmt::Debug for RuleIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("RuleIndex")
            .field("rules", &stats.rules)
            .field("scanned", &stats.scanned)
            .field("fields", &stats.fields)
            .finish()
    }
}

#[cfg(test)]
mod tests;
