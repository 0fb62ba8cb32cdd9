//! The ledger materialised on this instance: a redb file (`ledger.store`) with each delivery's
//! latest entry by `webhook-id`, an index by notification, and how far each partition of the
//! topic has been read. A cache: deleted, it is rebuilt from the topic.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

use super::record::{Entry, Read};

const DELIVERIES: TableDefinition<&str, &[u8]> = TableDefinition::new("deliveries");
/// `<notification id>\0<webhook-id>` → nothing.
const BY_NOTIFICATION: TableDefinition<&str, ()> = TableDefinition::new("by_notification");
/// Partition → the next offset to read.
const OFFSETS: TableDefinition<i32, i64> = TableDefinition::new("offsets");

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the ledger store {path}: {error}")]
pub struct StoreError {
    pub path: String,
    pub error: redb::Error,
}

/// A filter of `GET /v1/deliveries`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub subscription: Option<String>,
    pub destination: Option<String>,
    pub state: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// The last `webhook-id` of the previous page.
    pub after: Option<String>,
    pub limit: usize,
}

/// The most memory the store's page cache takes (redb's own default is 1 GiB, which a store
/// of a few hundred thousand deliveries fills: with the ledger on by default, that is every
/// instance's memory). Lookups touch a few pages; writes come in batches.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// How often a batch of records read is committed durably (fsync). The batches between are
/// committed without: a crash loses at most this much of the store, and the stored offsets go
/// with the entries, so the reader reads those records again from the topic.
const DURABLE_EVERY: Duration = Duration::from_secs(1);

/// The redb database of one instance.
pub struct Store {
    db: Database,
    path: String,
    /// When a batch was last committed durably.
    durable_at: Mutex<Instant>,
}

impl Store {
    /// Opens (or creates) the store at `path`, creating its folder.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let failed = |error: redb::Error| StoreError {
            path: shown.clone(),
            error,
        };
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| failed(redb::Error::Io(e)))?;
        }
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| failed(e.into()))?;
        let store = Self {
            db,
            path: shown,
            durable_at: Mutex::new(Instant::now()),
        };
        store.write(|_, _| Ok(()))?;
        Ok(store)
    }

    fn failed(&self, error: impl Into<redb::Error>) -> StoreError {
        StoreError {
            path: self.path.clone(),
            error: error.into(),
        }
    }

    /// Runs `change` in one write transaction over the tables, and commits durably.
    fn write(
        &self,
        change: impl FnOnce(
            &redb::WriteTransaction,
            &mut redb::Table<&str, &[u8]>,
        ) -> Result<(), redb::Error>,
    ) -> Result<(), StoreError> {
        self.write_with(Durability::Immediate, change)
    }

    /// Commits what earlier batches committed without fsync (at shutdown).
    pub fn persist(&self) -> Result<(), StoreError> {
        self.write(|_, _| Ok(()))
    }

    /// Runs `change` in one write transaction over the tables, and commits with `durability`.
    fn write_with(
        &self,
        durability: Durability,
        change: impl FnOnce(
            &redb::WriteTransaction,
            &mut redb::Table<&str, &[u8]>,
        ) -> Result<(), redb::Error>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        txn.set_durability(durability).map_err(|e| self.failed(e))?;
        {
            let mut deliveries = txn.open_table(DELIVERIES).map_err(|e| self.failed(e))?;
            txn.open_table(BY_NOTIFICATION)
                .map_err(|e| self.failed(e))?;
            txn.open_table(OFFSETS).map_err(|e| self.failed(e))?;
            change(&txn, &mut deliveries).map_err(|e| self.failed(e))?;
        }
        txn.commit().map_err(|e| self.failed(e))
    }

    /// The next offset to read of each partition, as stored.
    pub fn offsets(&self) -> Result<Vec<(i32, i64)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = txn.open_table(OFFSETS).map_err(|e| self.failed(e))?;
        let mut offsets = Vec::new();
        for row in table.iter().map_err(|e| self.failed(e))? {
            let (partition, next) = row.map_err(|e| self.failed(e))?;
            offsets.push((partition.value(), next.value()));
        }
        Ok(offsets)
    }

    /// Applies records read (each with its partition and offset; `None` for one skipped) in
    /// one transaction, with the offsets reached: durably once every [`DURABLE_EVERY`].
    pub fn apply(&self, batch: Vec<(i32, i64, Option<Read>)>) -> Result<(), StoreError> {
        let durability = {
            let mut durable_at = self.durable_at.lock().unwrap_or_else(|p| p.into_inner());
            match durable_at.elapsed() >= DURABLE_EVERY {
                true => {
                    *durable_at = Instant::now();
                    Durability::Immediate
                }
                false => Durability::None,
            }
        };
        self.write_with(durability, |txn, deliveries| {
            let mut index = txn.open_table(BY_NOTIFICATION)?;
            let mut offsets = txn.open_table(OFFSETS)?;
            for (partition, offset, read) in batch {
                match read {
                    Some(Read::Set(stored)) => {
                        let key = format!("{}\0{}", stored.notification_id, stored.webhook_id);
                        index.insert(key.as_str(), ())?;
                        deliveries.insert(stored.webhook_id.as_str(), stored.value.as_slice())?;
                    }
                    Some(Read::Removed(webhook_id)) => {
                        remove(deliveries, &mut index, &webhook_id)?;
                    }
                    None => {}
                }
                offsets.insert(partition, offset + 1)?;
            }
            Ok(())
        })
    }

    /// The entry of `webhook_id`.
    pub fn get(&self, webhook_id: &str) -> Result<Option<Entry>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = txn.open_table(DELIVERIES).map_err(|e| self.failed(e))?;
        let value = table.get(webhook_id).map_err(|e| self.failed(e))?;
        Ok(value.and_then(|v| serde_json::from_slice(v.value()).ok()))
    }

    /// The entries of notification `id`.
    pub fn of_notification(&self, id: &str) -> Result<Vec<Entry>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let index = txn
            .open_table(BY_NOTIFICATION)
            .map_err(|e| self.failed(e))?;
        let table = txn.open_table(DELIVERIES).map_err(|e| self.failed(e))?;
        let (start, end) = (format!("{id}\0"), format!("{id}\u{1}"));
        let mut entries = Vec::new();
        for row in index
            .range(start.as_str()..end.as_str())
            .map_err(|e| self.failed(e))?
        {
            let (key, _) = row.map_err(|e| self.failed(e))?;
            let webhook_id = key.value().split_once('\0').map(|(_, w)| w.to_owned());
            if let Some(webhook_id) = webhook_id
                && let Some(value) = table.get(webhook_id.as_str()).map_err(|e| self.failed(e))?
                && let Ok(entry) = serde_json::from_slice::<Entry>(value.value())
            {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// A page of entries matching `query`, in `webhook-id` order after `query.after`.
    pub fn list(&self, query: &Query) -> Result<Vec<Entry>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = txn.open_table(DELIVERIES).map_err(|e| self.failed(e))?;
        let rows = match &query.after {
            Some(after) => table.range::<&str>((
                std::ops::Bound::Excluded(after.as_str()),
                std::ops::Bound::Unbounded,
            )),
            None => table.range::<&str>(..),
        }
        .map_err(|e| self.failed(e))?;
        let mut page = Vec::new();
        for row in rows {
            let (_, value) = row.map_err(|e| self.failed(e))?;
            let Ok(entry) = serde_json::from_slice::<Entry>(value.value()) else {
                continue;
            };
            let wanted = query
                .subscription
                .as_ref()
                .is_none_or(|s| *s == entry.subscription)
                && query
                    .destination
                    .as_ref()
                    .is_none_or(|d| *d == entry.destination)
                && query
                    .state
                    .as_ref()
                    .is_none_or(|s| s == entry.state.as_str())
                && query.since.is_none_or(|since| entry.updated_at >= since);
            if wanted {
                page.push(entry);
                if page.len() >= query.limit.max(1) {
                    break;
                }
            }
        }
        Ok(page)
    }

    /// Removes the entries last updated before `before`; how many.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        {
            let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
            let table = txn.open_table(DELIVERIES).map_err(|e| self.failed(e))?;
            for row in table.iter().map_err(|e| self.failed(e))? {
                let (key, value) = row.map_err(|e| self.failed(e))?;
                let stale = serde_json::from_slice::<Entry>(value.value())
                    .map_or(true, |entry| entry.updated_at < before);
                if stale {
                    old.push(key.value().to_owned());
                }
            }
        }
        let count = old.len();
        if count > 0 {
            self.write(|txn, deliveries| {
                let mut index = txn.open_table(BY_NOTIFICATION)?;
                for webhook_id in &old {
                    remove(deliveries, &mut index, webhook_id)?;
                }
                Ok(())
            })?;
        }
        Ok(count)
    }

    /// Entries stored, and the file's size in bytes.
    pub fn size(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = txn.open_table(DELIVERIES).map_err(|e| self.failed(e))?;
        let count = table.len().map_err(|e| self.failed(e))?;
        let bytes = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        Ok((count, bytes))
    }
}

/// Removes `webhook_id`'s entry and its index row.
fn remove(
    deliveries: &mut redb::Table<&str, &[u8]>,
    index: &mut redb::Table<&str, ()>,
    webhook_id: &str,
) -> Result<(), redb::Error> {
    let notification = deliveries
        .remove(webhook_id)?
        .and_then(|old| serde_json::from_slice::<Entry>(old.value()).ok())
        .map(|entry| entry.notification_id);
    if let Some(notification) = notification {
        index.remove(format!("{notification}\0{webhook_id}").as_str())?;
    }
    Ok(())
}
