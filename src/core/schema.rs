//! The database schema an app declares, its validation, the IndexedDB names and version it maps
//! to, and the steps that bring an existing database up to it.
//!
//! Upgrades only ever add: a store that is no longer declared is kept with its records (it just
//! becomes unreachable through the API), because dropping a user's data on a typo in a schema is
//! not an upgrade. Indexes are derived data, so a changed or undeclared index is rebuilt or
//! dropped.

use super::error::{Error, ErrorKind, Result};
use super::meta::{META_FIELD, TOMBSTONE_FIELD, TOMBSTONE_INDEX};
use super::query::number_text;
use super::sync::conflict::strategy::Strategy;

/// The outbox: auto-increment `seq` key, so entries keep the order they were queued in.
pub const OUTBOX_STORE: &str = "_outbox";
/// Index of the outbox on `[collection, recordId]`, for coalescing.
pub const OUTBOX_BY_RECORD: &str = "byRecord";
/// Index of the outbox on `hold`: only held entries have the field, so the index lists exactly
/// them (few) and the count of what can be sent needs no scan of the queue.
pub const OUTBOX_BY_HOLD: &str = "byHold";
/// Conflicts, keyed by `[collection, id]`.
pub const CONFLICTS_STORE: &str = "_conflicts";
/// Key/value metadata: pull cursor, applied migrations, client id.
pub const META_STORE: &str = "_meta";
/// The sync log: auto-increment `seq` key, bounded (`core::sync::log::LOG_CAP`).
pub const LOG_STORE: &str = "_log";
/// Blobs, keyed by `hash` (their SHA-256): one row per blob however many records refer to it,
/// with the `Blob` and where its upload stands.
pub const BLOBS_STORE: &str = "_blobs";
/// Index of the blobs on `upload`: only a blob not on the server yet has the field, so the index
/// lists exactly the uploads to do.
pub const BLOBS_BY_UPLOAD: &str = "byUpload";
/// Index of the blobs on `download`: `"wanted"` for a pulled reference the sync downloads (a
/// row without bytes), `"failed"` for one the server could not give.
pub const BLOBS_BY_DOWNLOAD: &str = "byDownload";
/// Raised when ferrysync's own stores or indexes change shape. The IndexedDB version is
/// `app version * LAYOUT_SPAN + LAYOUT_VERSION`, so either a new app schema or a new layout
/// triggers an upgrade, and both keep increasing.
pub const LAYOUT_VERSION: u32 = 4;
pub const LAYOUT_SPAN: u32 = 100;
pub const MAX_APP_VERSION: u32 = (u32::MAX - LAYOUT_SPAN) / LAYOUT_SPAN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    /// One path for a simple index, several for a compound one.
    pub key_path: Vec<String>,
    pub compound: bool,
    pub unique: bool,
    pub multi_entry: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionDef {
    pub name: String,
    pub indexes: Vec<IndexDef>,
    /// How its conflicts are settled (not part of the IndexedDB layout).
    pub conflicts: Strategy,
    /// The field whose value is a record's space (`space: "projectId"`); `None`: the collection's
    /// records belong to no space and sync as they always did (docs/sync.md, "Spaces").
    pub space: Option<String>,
    /// The top-level fields that may hold blobs (`blobs: ["photo"]`), at any depth inside them;
    /// only these are looked into for `Blob`s on a write and for references on a read.
    pub blobs: Vec<String>,
    /// How the blobs of pulled records come here (`download`, `eagerDownloadBytes`).
    pub download: crate::core::blobs::DownloadMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub app: String,
    pub tenant: Option<String>,
    pub version: u32,
    pub collections: Vec<CollectionDef>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOptions, message)
}

/// A key path segment IndexedDB accepts: an identifier (letters, digits, `_`, `$`, not starting
/// with a digit).
fn is_identifier(segment: &str) -> bool {
    let mut chars = segment.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

fn check_key_path(collection: &str, path: &str) -> Result<()> {
    if path.is_empty() || !path.split('.').all(is_identifier) {
        return Err(invalid(format!(
            "collection \"{collection}\": index key path \"{path}\" is not a dotted list of identifiers"
        )));
    }
    // Tombstones keep exactly `id` and the metadata, so an index over them would list deleted
    // records; `id` is the primary key already.
    let first = path.split('.').next().unwrap_or_default();
    if first == "id" || first == META_FIELD {
        return Err(invalid(format!(
            "collection \"{collection}\": index key path \"{path}\" is reserved (`id` is the primary key, `{META_FIELD}` is ferrysync's metadata)"
        )));
    }
    Ok(())
}

/// A collection's space field (`space: "projectId"`): one top-level field, not `id` (a record
/// never changes its id, so it could never change space) nor the metadata.
pub fn check_space_field(collection: &str, field: &str) -> Result<()> {
    if !is_identifier(field) {
        return Err(invalid(format!(
            "collection \"{collection}\": `space` must name one top-level field (an identifier), got \"{field}\""
        )));
    }
    if field == "id" || field == META_FIELD {
        return Err(invalid(format!(
            "collection \"{collection}\": `space` cannot be \"{field}\" (`id` is the primary key, `{META_FIELD}` is ferrysync's metadata)"
        )));
    }
    Ok(())
}

/// A collection's blob field (`blobs: ["photo"]`): one top-level field, not `id`, the metadata or
/// the space field, declared once.
pub fn check_blob_fields(collection: &str, fields: &[String], space: Option<&str>) -> Result<()> {
    for (n, field) in fields.iter().enumerate() {
        if !is_identifier(field) || field == "id" || field == META_FIELD || Some(field.as_str()) == space {
            return Err(invalid(format!(
                "collection \"{collection}\": `blobs` names top-level fields (identifiers, not `id`, `{META_FIELD}` or the space field), got \"{field}\""
            )));
        }
        if fields[..n].contains(field) {
            return Err(invalid(format!("collection \"{collection}\": blob field \"{field}\" is declared twice")));
        }
    }
    Ok(())
}

impl IndexDef {
    /// A declared index; `name` defaults to the key path (compound paths joined with "+").
    pub fn new(
        collection: &str,
        name: Option<String>,
        key_path: Vec<String>,
        compound: bool,
        unique: bool,
        multi_entry: bool,
    ) -> Result<IndexDef> {
        if key_path.is_empty() {
            return Err(invalid(format!("collection \"{collection}\": an index has an empty key path")));
        }
        for p in &key_path {
            check_key_path(collection, p)?;
        }
        if compound && multi_entry {
            return Err(invalid(format!("collection \"{collection}\": a compound index cannot be multiEntry")));
        }
        let name = name.unwrap_or_else(|| key_path.join("+"));
        if name.is_empty() || name.starts_with('_') {
            return Err(invalid(format!(
                "collection \"{collection}\": index name \"{name}\" is empty or starts with \"_\" (reserved)"
            )));
        }
        Ok(IndexDef { name, key_path, compound, unique, multi_entry })
    }
}

impl Schema {
    pub fn new(app: String, tenant: Option<String>, version: f64, collections: Vec<CollectionDef>) -> Result<Schema> {
        if app.is_empty() || app.contains(':') {
            return Err(invalid("`app` must be a non-empty string without \":\""));
        }
        if matches!(&tenant, Some(t) if t.is_empty()) {
            return Err(invalid("`tenant` must be a non-empty string when given"));
        }
        if !(version.fract() == 0.0 && version >= 1.0 && version <= MAX_APP_VERSION as f64) {
            return Err(invalid(format!(
                "`version` must be an integer from 1 to {MAX_APP_VERSION}, got {}",
                number_text(version)
            )));
        }
        if collections.is_empty() {
            return Err(invalid("`collections` must declare at least one collection"));
        }
        for c in &collections {
            // The protocol's rule, so that every collection can sync; plus the one of this store:
            // names starting with "_" are its own (`_outbox`, `_meta`, ...).
            crate::protocol::check_collection(&c.name).map_err(|r| invalid(r.message))?;
            if c.name.starts_with('_') {
                return Err(invalid(format!("collection name \"{}\" starts with \"_\" (reserved)", c.name)));
            }
            for (n, i) in c.indexes.iter().enumerate() {
                if c.indexes[..n].iter().any(|earlier| earlier.name == i.name) {
                    return Err(invalid(format!("collection \"{}\": index \"{}\" is declared twice", c.name, i.name)));
                }
            }
        }
        Ok(Schema { app, tenant, version: version as u32, collections })
    }

    /// The IndexedDB database name: one database per (app, tenant).
    pub fn database_name(&self) -> String {
        database_name(&self.app, self.tenant.as_deref())
    }

    pub fn idb_version(&self) -> u32 {
        self.version * LAYOUT_SPAN + LAYOUT_VERSION
    }

    pub fn collection(&self, name: &str) -> Option<&CollectionDef> {
        self.collections.iter().find(|c| c.name == name)
    }
}

pub fn database_name(app: &str, tenant: Option<&str>) -> String {
    match tenant {
        Some(t) => format!("ferrysync:{app}:{t}"),
        None => format!("ferrysync:{app}"),
    }
}

/// The app schema version an IndexedDB version stands for (0 for a database being created).
pub fn app_version_of(idb_version: u32) -> u32 {
    idb_version / LAYOUT_SPAN
}

/// An index as it exists in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingIndex {
    pub name: String,
    pub key_path: Vec<String>,
    /// An array key path (even of one element), as opposed to a single string.
    pub compound: bool,
    pub unique: bool,
    pub multi_entry: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingStore {
    pub name: String,
    pub indexes: Vec<ExistingIndex>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// keyPath `id`, out of the app's declared collections.
    Collection,
    /// keyPath `seq`, auto-increment.
    Outbox,
    /// keyPath `[collection, id]`.
    Conflicts,
    /// Out-of-line string keys.
    Meta,
    /// keyPath `seq`, auto-increment.
    Log,
    /// keyPath `hash`.
    Blobs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeStep {
    CreateStore { name: String, kind: StoreKind },
    DeleteIndex { store: String, name: String },
    CreateIndex { store: String, index: IndexDef },
}

/// Every index a collection store needs: the declared ones and the internal tombstone index.
fn collection_indexes(c: &CollectionDef) -> Vec<IndexDef> {
    let mut all = c.indexes.clone();
    all.push(IndexDef {
        name: TOMBSTONE_INDEX.to_string(),
        key_path: vec![format!("{META_FIELD}.{TOMBSTONE_FIELD}")],
        compound: false,
        unique: false,
        multi_entry: false,
    });
    all
}

fn outbox_indexes() -> Vec<IndexDef> {
    vec![
        IndexDef {
            name: OUTBOX_BY_RECORD.to_string(),
            key_path: vec!["collection".to_string(), "recordId".to_string()],
            compound: true,
            unique: false,
            multi_entry: false,
        },
        IndexDef {
            name: OUTBOX_BY_HOLD.to_string(),
            key_path: vec!["hold".to_string()],
            compound: false,
            unique: false,
            multi_entry: false,
        },
    ]
}

fn blobs_by_upload() -> IndexDef {
    blobs_index(BLOBS_BY_UPLOAD, "upload")
}

fn blobs_by_download() -> IndexDef {
    blobs_index(BLOBS_BY_DOWNLOAD, "download")
}

fn blobs_index(name: &str, field: &str) -> IndexDef {
    IndexDef {
        name: name.to_string(),
        key_path: vec![field.to_string()],
        compound: false,
        unique: false,
        multi_entry: false,
    }
}

/// Whether an existing index is exactly the one wanted (any difference means a rebuild).
fn same_index(have: &ExistingIndex, want: &IndexDef) -> bool {
    have.name == want.name
        && have.key_path == want.key_path
        && have.compound == want.compound
        && have.unique == want.unique
        && have.multi_entry == want.multi_entry
}

/// The steps that turn `existing` into the layout `schema` needs. Stores are never deleted.
pub fn plan_upgrade(existing: &[ExistingStore], schema: &Schema) -> Vec<UpgradeStep> {
    let mut wanted: Vec<(String, StoreKind, Vec<IndexDef>)> = vec![
        (OUTBOX_STORE.into(), StoreKind::Outbox, outbox_indexes()),
        (CONFLICTS_STORE.into(), StoreKind::Conflicts, vec![]),
        (META_STORE.into(), StoreKind::Meta, vec![]),
        (LOG_STORE.into(), StoreKind::Log, vec![]),
        (BLOBS_STORE.into(), StoreKind::Blobs, vec![blobs_by_upload(), blobs_by_download()]),
    ];
    for c in &schema.collections {
        wanted.push((c.name.clone(), StoreKind::Collection, collection_indexes(c)));
    }
    let mut steps = Vec::new();
    for (name, kind, indexes) in wanted {
        let current = existing.iter().find(|s| s.name == name);
        if current.is_none() {
            steps.push(UpgradeStep::CreateStore { name: name.clone(), kind });
        }
        let current_indexes: &[ExistingIndex] = current.map(|s| s.indexes.as_slice()).unwrap_or(&[]);
        for have in current_indexes {
            let still_wanted = indexes.iter().any(|w| same_index(have, w));
            if !still_wanted {
                steps.push(UpgradeStep::DeleteIndex { store: name.clone(), name: have.name.clone() });
            }
        }
        for want in indexes {
            let present = current_indexes.iter().any(|h| same_index(h, &want));
            if !present {
                steps.push(UpgradeStep::CreateIndex { store: name.clone(), index: want });
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(path: &str) -> IndexDef {
        IndexDef::new("t", None, vec![path.into()], false, false, false).unwrap()
    }

    fn schema(version: f64, collections: Vec<CollectionDef>) -> Result<Schema> {
        Schema::new("app".into(), None, version, collections)
    }

    fn tasks(indexes: Vec<IndexDef>) -> CollectionDef {
        CollectionDef {
            name: "tasks".into(),
            indexes,
            conflicts: Strategy::Manual,
            space: None,
            blobs: vec![],
            download: Default::default(),
        }
    }

    #[test]
    fn a_space_field_is_one_top_level_field_other_than_the_id_and_the_metadata() {
        assert!(check_space_field("tasks", "projectId").is_ok());
        for bad in ["", "project.id", "1st", "id", "_sync", "a b"] {
            assert_eq!(check_space_field("tasks", bad).unwrap_err().kind, ErrorKind::InvalidOptions, "{bad:?}");
        }
    }

    #[test]
    fn blob_fields_are_top_level_names_declared_once() {
        let fields = |v: &[&str]| v.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        assert!(check_blob_fields("t", &fields(&["photo", "files"]), Some("project")).is_ok());
        for bad in [&["a.b"][..], &["id"], &["_sync"], &["project"], &["x", "x"], &[""]] {
            assert_eq!(
                check_blob_fields("t", &fields(bad), Some("project")).unwrap_err().kind,
                ErrorKind::InvalidOptions
            );
        }
    }

    #[test]
    fn names_and_versions() {
        let s = Schema::new("notes".into(), Some("acme".into()), 3.0, vec![tasks(vec![])]).unwrap();
        assert_eq!(s.database_name(), "ferrysync:notes:acme");
        assert_eq!(database_name("notes", None), "ferrysync:notes");
        assert_eq!(s.idb_version(), 304);
        assert_eq!(app_version_of(303), 3);
        assert_eq!(app_version_of(0), 0);
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(schema(0.0, vec![tasks(vec![])]).is_err());
        assert!(schema(1.5, vec![tasks(vec![])]).is_err());
        assert!(schema(f64::NAN, vec![tasks(vec![])]).is_err());
        assert!(schema(1.0, vec![]).is_err());
        assert!(schema(
            1.0,
            vec![CollectionDef {
                name: "_outbox".into(),
                indexes: vec![],
                conflicts: Strategy::Manual,
                space: None,
                blobs: vec![],
                download: Default::default()
            }]
        )
        .is_err());
        assert!(Schema::new("a:b".into(), None, 1.0, vec![tasks(vec![])]).is_err());
        assert!(Schema::new("a".into(), Some(String::new()), 1.0, vec![tasks(vec![])]).is_err());
        assert!(schema(1.0, vec![tasks(vec![index("done"), index("done")])]).is_err());
        let err = IndexDef::new("t", None, vec!["a..b".into()], false, false, false).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidOptions);
        assert!(IndexDef::new("t", None, vec![], false, false, false).is_err());
        assert!(IndexDef::new("t", None, vec!["1x".into()], false, false, false).is_err());
        assert!(IndexDef::new("t", None, vec!["a".into(), "b".into()], true, false, true).is_err());
        assert!(IndexDef::new("t", Some("_x".into()), vec!["a".into()], false, false, false).is_err());
        assert!(IndexDef::new("t", None, vec!["_sync.status".into()], false, false, false).is_err());
        assert!(IndexDef::new("t", None, vec!["id".into()], false, false, false).is_err());
        assert!(IndexDef::new("t", None, vec!["idea".into()], false, false, false).is_ok());
    }

    #[test]
    fn index_names_default_to_their_paths() {
        let compound = IndexDef::new("t", None, vec!["a".into(), "b.c".into()], true, false, false).unwrap();
        assert_eq!(compound.name, "a+b.c");
        assert_eq!(index("due").name, "due");
    }

    #[test]
    fn a_new_database_gets_every_store_and_index() {
        let s = schema(1.0, vec![tasks(vec![index("done")])]).unwrap();
        let steps = plan_upgrade(&[], &s);
        let creates: Vec<_> = steps
            .iter()
            .filter_map(|st| match st {
                UpgradeStep::CreateStore { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(creates, vec!["_outbox", "_conflicts", "_meta", "_log", "_blobs", "tasks"]);
        let indexes: Vec<_> = steps
            .iter()
            .filter_map(|st| match st {
                UpgradeStep::CreateIndex { store, index } => Some((store.as_str(), index.name.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            indexes,
            vec![
                ("_outbox", "byRecord"),
                ("_outbox", "byHold"),
                ("_blobs", "byUpload"),
                ("_blobs", "byDownload"),
                ("tasks", "done"),
                ("tasks", "_tombstones")
            ]
        );
    }

    #[test]
    fn a_database_of_the_first_layout_gets_the_log_and_the_hold_index() {
        let s = schema(1.0, vec![tasks(vec![])]).unwrap();
        let mut before = existing_after(&s);
        before.retain(|st| st.name != LOG_STORE);
        before.iter_mut().for_each(|st| st.indexes.retain(|i| i.name != OUTBOX_BY_HOLD));
        let steps = plan_upgrade(&before, &s);
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(steps.contains(&UpgradeStep::CreateStore { name: LOG_STORE.into(), kind: StoreKind::Log }));
        assert!(
            matches!(&steps[0], UpgradeStep::CreateIndex { store, index } if store == OUTBOX_STORE && index.name == OUTBOX_BY_HOLD)
        );
    }

    fn existing_after(s: &Schema) -> Vec<ExistingStore> {
        let mut stores: Vec<ExistingStore> = Vec::new();
        for step in plan_upgrade(&[], s) {
            match step {
                UpgradeStep::CreateStore { name, .. } => stores.push(ExistingStore { name, indexes: vec![] }),
                UpgradeStep::CreateIndex { store, index } => {
                    stores.iter_mut().find(|s| s.name == store).unwrap().indexes.push(ExistingIndex {
                        name: index.name,
                        key_path: index.key_path,
                        compound: index.compound,
                        unique: index.unique,
                        multi_entry: index.multi_entry,
                    })
                }
                UpgradeStep::DeleteIndex { .. } => unreachable!(),
            }
        }
        stores
    }

    #[test]
    fn the_same_schema_needs_no_steps() {
        let s = schema(1.0, vec![tasks(vec![index("done")])]).unwrap();
        assert!(plan_upgrade(&existing_after(&s), &s).is_empty());
    }

    #[test]
    fn an_upgrade_adds_and_never_drops_stores() {
        let v1 = schema(1.0, vec![tasks(vec![index("done")])]).unwrap();
        let v2 = schema(
            2.0,
            vec![
                tasks(vec![index("priority")]),
                CollectionDef {
                    name: "notes".into(),
                    indexes: vec![],
                    conflicts: Strategy::Manual,
                    space: None,
                    blobs: vec![],
                    download: Default::default(),
                },
            ],
        )
        .unwrap();
        let steps = plan_upgrade(&existing_after(&v1), &v2);
        assert!(steps.contains(&UpgradeStep::CreateStore { name: "notes".into(), kind: StoreKind::Collection }));
        assert!(steps.contains(&UpgradeStep::DeleteIndex { store: "tasks".into(), name: "done".into() }));
        assert!(steps.iter().any(|s| matches!(s, UpgradeStep::CreateIndex { index, .. } if index.name == "priority")));
        assert!(!steps.iter().any(|s| matches!(s, UpgradeStep::CreateStore { name, .. } if name == "tasks")));
        // Dropping a collection from the schema keeps its store.
        let v3 = schema(
            3.0,
            vec![CollectionDef {
                name: "notes".into(),
                indexes: vec![],
                conflicts: Strategy::Manual,
                space: None,
                blobs: vec![],
                download: Default::default(),
            }],
        )
        .unwrap();
        let steps = plan_upgrade(&existing_after(&v1), &v3);
        assert!(steps.iter().all(|s| !matches!(s, UpgradeStep::DeleteIndex { store, .. } if store == "tasks")));
    }

    #[test]
    fn switching_between_single_and_compound_rebuilds() {
        let v1 = schema(1.0, vec![tasks(vec![index("a")])]).unwrap();
        let compound = IndexDef::new("t", Some("a".into()), vec!["a".into()], true, false, false).unwrap();
        let v2 = schema(2.0, vec![tasks(vec![compound])]).unwrap();
        assert_eq!(plan_upgrade(&existing_after(&v1), &v2).len(), 2);
    }

    #[test]
    fn a_changed_index_is_rebuilt() {
        let v1 = schema(1.0, vec![tasks(vec![index("done")])]).unwrap();
        let unique = IndexDef::new("t", None, vec!["done".into()], false, true, false).unwrap();
        let v2 = schema(2.0, vec![tasks(vec![unique])]).unwrap();
        let steps = plan_upgrade(&existing_after(&v1), &v2);
        assert_eq!(steps.len(), 2);
        assert!(matches!(&steps[0], UpgradeStep::DeleteIndex { name, .. } if name == "done"));
        assert!(matches!(&steps[1], UpgradeStep::CreateIndex { index, .. } if index.unique));
    }
}
