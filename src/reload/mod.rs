//! Live configuration: the configuration in effect, reloaded from disk without a restart (on
//! SIGHUP, `POST /-/reload`, a change of the files, or a source toggled through the API), with
//! the control topic's source overrides laid over what the files say.
//!
//! A reload loads and validates everything first, as `validate` does; an invalid configuration
//! is rejected (each problem logged, `config_last_reload_successful` 0) and the running one
//! stays; a toggle whose file cannot be written changes nothing and leaves that metric alone. A valid one is put in effect in one step ([`Deliverer::swap`]): every record whose
//! processing starts afterwards is routed and delivered wholly by it, every record already
//! started finishes with the one it took. Settings that only a restart can apply (`kafka`,
//! `http`, `dedup`, `admin`, `ledger`) keep their running values; a change to them is logged as needing a
//! restart, and the rest is applied. Reloads run one at a time.

mod persist;
mod triggers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::watch;
use tracing::{error, info, warn};

pub(crate) use triggers::spawn_triggers;

use crate::config::{self, Config, ConfigErrors, ToggleError};
use crate::control::ControlState;
use crate::dispatch::Deliverer;
use crate::telemetry::metrics;

/// The configuration in effect, and what puts a new one in effect.
pub struct Live {
    current: watch::Sender<Arc<Config>>,
    /// Set once the consumer has built it; a reload before then changes the configuration only.
    deliverer: Mutex<Option<Arc<Deliverer>>>,
    /// Held for the whole of a reload or a toggle, so they never interleave.
    reloading: tokio::sync::Mutex<()>,
    /// The configuration as the files declare it, before the control topic's overrides.
    baseline: Mutex<Arc<Config>>,
    /// The control topic's state: its source overrides apply over every configuration loaded.
    control: Mutex<Option<ControlState>>,
    /// Where `config_last_reload_successful` is kept: the process's registry but in tests.
    metrics: &'static metrics::Metrics,
}

/// What a successful reload put in effect.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub sources: usize,
    pub enabled_sources: usize,
    pub topics: usize,
    pub subscriptions: usize,
    pub destinations: usize,
    /// Sections whose change needs a restart; their running values were kept.
    pub restart_required: Vec<&'static str>,
    pub warnings: Vec<String>,
}

/// Why a reload put nothing in effect.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The files do not make a valid configuration: the problems `validate` reports.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// Valid, but a destination's notifier cannot be built.
    #[error("{0}")]
    Unusable(crate::channels::TargetError),
    /// `router.yaml` could not be edited, read or written.
    #[error("{0}")]
    File(String),
}

impl ReloadError {
    /// Whether the configuration itself is at fault (`config_last_reload_successful` drops to 0),
    /// rather than a file that could not be edited or written, which leaves the configuration in
    /// effect and the files as they were: nothing in them to fix.
    pub fn is_configuration_problem(&self) -> bool {
        matches!(self, ReloadError::Invalid(_) | ReloadError::Unusable(_))
    }
}

impl From<ToggleError> for ReloadError {
    fn from(error: ToggleError) -> Self {
        ReloadError::File(error.to_string())
    }
}

impl Live {
    pub fn new(config: Arc<Config>) -> Self {
        Self {
            current: watch::Sender::new(config.clone()),
            deliverer: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
            baseline: Mutex::new(config),
            control: Mutex::new(None),
            metrics: metrics::global(),
        }
    }

    /// Keeps the reload metrics in `metrics` instead of the process's registry.
    #[cfg(test)]
    pub(crate) fn with_metrics(mut self, metrics: &'static metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The configuration as the files declare it: what is in effect but for the control
    /// topic's overrides.
    pub fn baseline(&self) -> Arc<Config> {
        self.baseline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts the control topic's source overrides in effect over the files' configuration.
    pub async fn set_control_state(&self, state: ControlState) {
        let _reloading = self.reloading.lock().await;
        let baseline = self.baseline();
        let mut wanted = (*baseline).clone();
        state.overlay(&mut wanted);
        *self.control.lock().unwrap_or_else(PoisonError::into_inner) = Some(state);
        let enabled = |config: &Config| -> Vec<bool> {
            config.table.sources().iter().map(|s| s.enabled).collect()
        };
        if enabled(&wanted) == enabled(&self.config()) {
            return;
        }
        let _ = self.apply(Ok((*baseline).clone()), "control topic");
    }

    /// The configuration in effect.
    pub fn config(&self) -> Arc<Config> {
        self.current.borrow().clone()
    }

    /// The deliverer once the consumer has built it: its lanes say each destination's queue,
    /// circuit and whether it is disabled.
    pub fn deliverer(&self) -> Option<Arc<Deliverer>> {
        self.deliverer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sees every configuration put in effect from now on.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.current.subscribe()
    }

    /// Makes reloads swap `deliverer`'s configuration too; brings it up to date first.
    pub async fn attach(&self, deliverer: Arc<Deliverer>) -> Result<(), ReloadError> {
        let _reloading = self.reloading.lock().await;
        let current = self.config();
        if !Arc::ptr_eq(deliverer.snapshot().config(), &current) {
            deliverer.swap(current).map_err(ReloadError::Unusable)?;
        }
        *self
            .deliverer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(deliverer);
        Ok(())
    }

    /// Loads the files again and puts them in effect when they are valid. `trigger` says why,
    /// for the log.
    pub async fn reload(&self, trigger: &'static str) -> Result<Summary, ReloadError> {
        let _reloading = self.reloading.lock().await;
        let path = self.config().path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load(&path))
            .await
            .map_err(|e| ReloadError::File(format!("the reload task failed: {e}")))?;
        self.apply(loaded.map_err(ReloadError::Invalid), trigger)
    }

    /// Turns source `id` on or off: the one `enabled:` line of its entry in `router.yaml` is
    /// written (the rest of the file kept as it is), and the files are put in effect as a reload
    /// would. Nothing is written when the result would not be valid.
    pub async fn set_source_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<Arc<Config>, ReloadError> {
        let _reloading = self.reloading.lock().await;
        let path: PathBuf = self.config().path.clone();
        let id_owned = id.to_owned();
        let loaded = tokio::task::spawn_blocking(move || {
            persist::set_source_enabled(&path, &id_owned, enabled)
        })
        .await
        .map_err(|e| ReloadError::File(format!("the toggle task failed: {e}")))?;
        let trigger = if enabled {
            "source enabled"
        } else {
            "source disabled"
        };
        self.apply(loaded, trigger)?;
        Ok(self.config())
    }

    /// Puts a loaded configuration in effect, or logs why not.
    fn apply(
        &self,
        loaded: Result<Config, ReloadError>,
        trigger: &'static str,
    ) -> Result<Summary, ReloadError> {
        let metrics = self.metrics;
        let mut config = match loaded {
            Ok(config) => config,
            Err(rejected) => {
                if rejected.is_configuration_problem() {
                    metrics.config_loaded(false);
                }
                log_rejected(&rejected, trigger);
                return Err(rejected);
            }
        };
        let running = self.config();
        let restart_required = keep_running_settings(&running, &mut config);
        let baseline = Arc::new(config.clone());
        if let Some(control) = &*self.control.lock().unwrap_or_else(PoisonError::into_inner) {
            control.overlay(&mut config);
        }
        let config = Arc::new(config);
        let deliverer = self
            .deliverer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(deliverer) = deliverer
            && let Err(why) = deliverer.swap(config.clone())
        {
            metrics.config_loaded(false);
            let rejected = ReloadError::Unusable(why);
            log_rejected(&rejected, trigger);
            return Err(rejected);
        }
        self.current.send_replace(config.clone());
        *self.baseline.lock().unwrap_or_else(PoisonError::into_inner) = baseline;
        metrics.config_loaded(true);
        for warning in &config.warnings {
            warn!(message = "Configuration warning.", file = %warning.file.display(), item = %warning.item, detail = %warning.message);
        }
        if !restart_required.is_empty() {
            warn!(message = "Configuration changes that need a restart were not applied; the running values stay until then.", sections = ?restart_required);
        }
        let summary = summary(&config, restart_required);
        info!(
            message = "Configuration reloaded.",
            trigger,
            sources = summary.sources,
            enabled_sources = summary.enabled_sources,
            topics = summary.topics,
            subscriptions = summary.subscriptions,
            destinations = summary.destinations
        );
        Ok(summary)
    }
}

fn log_rejected(rejected: &ReloadError, trigger: &'static str) {
    if let ReloadError::Invalid(errors) = rejected {
        for problem in &errors.0 {
            error!(message = "Configuration problem.", problem = %problem);
        }
    }
    error!(message = "Configuration reload rejected; the running configuration stays.", trigger, error = %rejected);
}

/// Copies into `new` the running values of the sections only a restart applies; names those
/// that differed.
fn keep_running_settings(running: &Config, new: &mut Config) -> Vec<&'static str> {
    let (old, router) = (&running.router, &mut new.router);
    let mut changed = Vec::new();
    keep("kafka", &old.kafka, &mut router.kafka, &mut changed);
    keep("http", &old.http, &mut router.http, &mut changed);
    keep("dedup", &old.dedup, &mut router.dedup, &mut changed);
    keep("admin", &old.admin, &mut router.admin, &mut changed);
    keep("ledger", &old.ledger, &mut router.ledger, &mut changed);
    changed
}

/// Puts the `running` value of `section` back into `new`, naming the section when they differed.
fn keep<T: PartialEq + Clone>(
    section: &'static str,
    running: &T,
    new: &mut T,
    changed: &mut Vec<&'static str>,
) {
    if running != new {
        changed.push(section);
        new.clone_from(running);
    }
}

fn summary(config: &Config, restart_required: Vec<&'static str>) -> Summary {
    let table = &config.table;
    Summary {
        sources: table.sources().len(),
        enabled_sources: table.sources().iter().filter(|s| s.enabled).count(),
        topics: table.topics().len(),
        subscriptions: table.subscriptions().len(),
        destinations: table.destinations().len(),
        restart_required,
        warnings: config.warnings.iter().map(ToString::to_string).collect(),
    }
}

#[cfg(test)]
mod tests;

/// Turns source `id` on or off in the file at `path`, as [`Live::set_source_enabled`] does for a
/// running router (the one `enabled:` line written, nothing written unless the result is
/// valid), and returns the configuration as it now is. For the `sources` command.
pub(crate) fn write_source_enabled(
    path: &Path,
    id: &str,
    enabled: bool,
) -> Result<Config, ReloadError> {
    persist::set_source_enabled(path, id, enabled)
}
