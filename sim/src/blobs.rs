//! Blobs in the simulation: a small pool of contents that users attach to records (so that
//! clients upload the same blob, sometimes at once), what each client has heard the server hold
//! of each upload, and the checks run once the world is quiet.

use std::collections::BTreeMap;

use ferrysync::core::blobs::hash::hash_of;
use ferrysync::protocol::BlobRef;

use crate::rng::Rng;

/// Chunk sizes clients upload with (client `i` uses entry `i % 4`): from many tiny chunks to one.
pub const CHUNK_BYTES: [u64; 4] = [16, 100, 1024, 4096];

/// The contents users attach: drawn from the seed, from an empty blob to a few chunks of the
/// largest size.
pub struct Pool {
    pub blobs: Vec<(BlobRef, Vec<u8>)>,
}

impl Pool {
    pub fn new(seed: u64) -> Pool {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(0xB10B));
        let sizes = [0u64, 1, 63, 700, 2_500, 9_000];
        let blobs = (0..4)
            .map(|_| {
                let size = *rng.pick(&sizes).unwrap_or(&1);
                let bytes: Vec<u8> = (0..size).map(|_| rng.below(256) as u8).collect();
                let blob = BlobRef { hash: hash_of(&bytes), size, media_type: String::new() };
                (blob, bytes)
            })
            .collect();
        Pool { blobs }
    }

    pub fn bytes(&self, hash: &str) -> Option<&Vec<u8>> {
        self.blobs.iter().find(|(b, _)| b.hash == hash).map(|(_, bytes)| bytes)
    }
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
        for (collection, id, data) in store.live_records() {
            for hash in blob_hashes(&data) {
                let here = store.blob_bytes(&hash).is_some_and(|bytes| hash_of(&bytes) == hash);
                if !here && !on_server(&hash) {
                    problems.push(format!("client {client} cannot read blob {hash} of {collection}/{id}"));
                }
            }
        }
        for status in world.statuses(client) {
            if status.upload.is_some() || status.blobs_unsupported {
                problems.push(format!("client {client}: a quiet tab shows an upload: {status:?}"));
            }
        }
    }
    problems
}
