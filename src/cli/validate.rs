//! `validate`: loads the configuration as `run` would and reports every problem, one per line.

use std::path::Path;

use crate::config;

/// Prints each warning (`warning: …`, on stderr) and a summary, and returns true when the
/// configuration is valid; prints each problem otherwise.
pub fn validate(path: &Path) -> bool {
    match config::load(path) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("warning: {warning}");
            }
            let table = &config.table;
            let enabled = table.sources().iter().filter(|s| s.enabled).count();
            println!(
                "{}: valid: {} sources ({enabled} enabled), {} topics, {} subscriptions, {} destinations.",
                path.display(),
                table.sources().len(),
                table.topics().len(),
                table.subscriptions().len(),
                table.destinations().len(),
            );
            true
        }
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{error}");
            }
            eprintln!("{}: {} problem(s) found.", path.display(), errors.0.len());
            false
        }
    }
}
