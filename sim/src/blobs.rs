//! Blobs in the simulation: a small pool of contents that users attach to records (so that
//! clients upload the same blob, sometimes at once), what each client has heard the server hold
//! of each upload, and the checks run once the world is quiet.

use std::collections::BTreeMap;

use ferrysync::core::blobs::hash::hash_of;
use ferrysync::core::blobs::DownloadMode;
use ferrysync::core::sync::log::{LogEntry, LogKind};
use ferrysync::protocol::codes;
use ferrysync::protocol::BlobRef;

use crate::rng::Rng;

/// Chunk sizes clients upload with (client `i` uses entry `i % 4`): from many tiny chunks to one.
pub const CHUNK_BYTES: [u64; 4] = [16, 100, 1024, 4096];

/// How client `client` gets the blobs of pulled records, and its cap on the bytes kept: every
/// third client eagerly with no cap, every third eagerly under a cap of a few blobs (so that
/// downloads evict), every third lazily (nothing comes down by itself).
pub fn policy(client: usize) -> (DownloadMode, Option<u64>) {
    match client % 3 {
        0 => (DownloadMode::Eager { up_to: u64::MAX }, None),
        1 => (DownloadMode::Eager { up_to: u64::MAX }, Some(CAP_BYTES)),
        _ => (DownloadMode::Lazy, None),
    }
}

/// The cap of the clients that evict: less than half the pool's blobs, so that most downloads
/// evict.
pub const CAP_BYTES: u64 = 600;

/// The contents users attach: drawn from the seed, from an empty blob to a few chunks of the
/// largest size. `blobs` are shared (clients upload the same blob, sometimes at once); `own` holds
/// one per client that no other client writes (so that losing its bytes before the server has
/// them cannot be hidden by another client's copy).
pub struct Pool {
    pub blobs: Vec<(BlobRef, Vec<u8>)>,
    pub own: Vec<(BlobRef, Vec<u8>)>,
}

/// How many clients get a blob of their own (the simulation runs at most 3).
const OWN: usize = 4;

impl Pool {
    pub fn new(seed: u64) -> Pool {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(0xB10B));
        let sizes = [0u64, 1, 63, 700, 2_500, 9_000];
        let mut draw = |tag: Option<u8>| {
            let size = *rng.pick(&sizes).unwrap_or(&1);
            let mut bytes: Vec<u8> = (0..size).map(|_| rng.below(256) as u8).collect();
            // Tagged with its client: never the same bytes as a shared one.
            if let Some(t) = tag {
                bytes.extend([0xEE, t]);
            }
            let blob = BlobRef { hash: hash_of(&bytes), size: bytes.len() as u64, media_type: String::new() };
            (blob, bytes)
        };
        let blobs = (0..4).map(|_| draw(None)).collect();
        let own = (0..OWN).map(|c| draw(Some(c as u8))).collect();
        Pool { blobs, own }
    }

    pub fn bytes(&self, hash: &str) -> Option<&Vec<u8>> {
        self.blobs.iter().chain(&self.own).find(|(b, _)| b.hash == hash).map(|(_, bytes)| bytes)
    }

    /// Client `client`'s own blob.
    pub fn own(&self, client: usize) -> &BlobRef {
        &self.own[client % OWN].0
    }
}

/// What is wrong with a sync log `entry` of `client`, as far as blobs go: a change whose file was
/// written here is never refused for good for a file the server lacks (the file goes up first,
/// and its bytes stay here until the server has it).
pub fn check_log_entry<D>(client: usize, entry: &LogEntry<D>) -> Option<String> {
    (entry.kind == LogKind::Rejected && entry.code.as_deref() == Some(codes::BLOB_MISSING)).then(|| {
        format!("client {client}: {}/{} was rejected for good for a blob the server lacks", entry.collection, entry.id)
    })
}

/// What each client heard the server hold of each blob, from the answers it got: an uploader
/// that asks where the server is before it sends never sends bytes the server told it it has,
/// and never sends a blob it heard was complete.
#[derive(Debug, Default)]
pub struct Heard(BTreeMap<(usize, String), (u64, bool)>);

impl Heard {
    pub fn heard(&mut self, client: usize, hash: &str, offset: u64, complete: bool) {
        let e = self.0.entry((client, hash.to_string())).or_default();
        *e = (e.0.max(offset), e.1 || complete);
    }

    /// What is wrong with `client` sending bytes from `offset` of `hash`, if anything.
    pub fn sending(&self, client: usize, hash: &str, offset: u64) -> Option<String> {
        let (held, complete) = *self.0.get(&(client, hash.to_string()))?;
        if complete {
            return Some(format!("client {client} sends blob {} again after hearing it is complete", &hash[..8]));
        }
        (offset < held).then(|| {
            format!(
                "client {client} sends blob {} from byte {offset}, after hearing the server holds {held}",
                &hash[..8]
            )
        })
    }
}

/// Every way the quiet `world` breaks the blob rules: a blob a record on the server refers to
/// that the server does not hold whole, or whose bytes are not its address; a blob a client's
/// record refers to that the client can read neither here nor from the server.
pub fn check(world: &crate::world::World) -> Vec<String> {
    use ferrysync::core::blobs::blob_hashes;
    let mut problems = Vec::new();
    let on_server = |hash: &str| world.server.blob_bytes(hash).is_some_and(|bytes| hash_of(&bytes) == hash);
    for ((collection, id), data) in world.server.live_records() {
        for hash in blob_hashes(&data) {
            if !on_server(&hash) {
                problems.push(format!(
                    "{collection}/{id} on the server refers to blob {hash}, which it does not hold whole"
                ));
            }
        }
    }
    for client in 0..world.client_count() {
        let store = world.store(client);
        let (mode, cap) = policy(client);

        for hash in store.blob_hashes_here() {
            if store.blob_bytes(&hash).is_some_and(|bytes| hash_of(&bytes) != hash) {
                problems.push(format!("client {client} stores bytes under blob {hash} that are not its"));
            }
        }
        for (collection, id, data) in store.live_records() {
            for hash in blob_hashes(&data) {
                let here = store.blob_bytes(&hash).is_some();
                if !here && !on_server(&hash) {
                    problems.push(format!("client {client} cannot read blob {hash} of {collection}/{id}"));
                }
                // An eager client with room for everything has every blob its records refer to.
                if !here && matches!(mode, DownloadMode::Eager { .. }) && cap.is_none() {
                    problems.push(format!("client {client} did not download blob {hash} of {collection}/{id}"));
                }
            }
        }
        for status in world.statuses(client) {
            if status.upload.is_some() || status.download.is_some() || status.blobs_unsupported {
                problems.push(format!("client {client}: a quiet tab shows a transfer: {status:?}"));
            }
            if mode == DownloadMode::Lazy && status.blob_bytes.to_download > 0 {
                problems.push(format!("client {client} downloads lazily but has blobs queued: {status:?}"));
            }
        }
    }
    problems
}
