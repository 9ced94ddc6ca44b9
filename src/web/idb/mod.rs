//! IndexedDB: opening and upgrading ([`connection`]), reads, local writes, migrations, and the
//! sync engine's storage ([`IdbStore`]: batches, answers, pages, counts, decisions). Each module
//! reads JS values, asks the core what to do, and writes the answer back.

pub mod blobs;
pub mod connection;
mod decisions;
pub mod downloads;
pub mod entries;
mod force;
pub mod integrity;
pub mod log;
pub mod marker;
pub mod meta_check;
pub mod migrations;
mod pull;
mod push;
pub mod reads;
mod record_step;
mod sent;
pub mod spaces;
mod unique;
mod wipe;
pub mod writes;

use std::future::Future;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use crate::core::error::Result;
use crate::core::schema::Schema;
use crate::core::sync::rules::decide::Side;
use crate::core::sync::rules::force::Force;
use crate::core::sync::storage::{
    Answer, Batch, Choice, Counts, Decided, PageApplied, PullFrom, PushApplied, Settled, SyncStorage,
};
use crate::protocol::SpaceCursor;

use super::wire::{JsData, PullResponse, PushResponse, SpacesResponse};

/// The sync engine's storage over one open database. Each method hands back the step's own
/// future rather than wrapping it in another (every wrapper would be more wasm).
pub struct IdbStore {
    pub db: IdbDatabase,
    pub schema: Rc<Schema>,
    /// The most bytes of blobs kept here (`blobCacheBytes`), beyond which downloaded ones are
    /// evicted; `None`: no cap.
    pub blob_cap: Option<u64>,
}

impl IdbStore {
    /// Carries out how a download ended (the bytes received are `parts`); the stored `Blob`.
    pub async fn end_download(
        &self,
        blob: &crate::protocol::BlobRef,
        outcome: crate::core::blobs::Downloaded,
        parts: Option<&js_sys::Array>,
        now: f64,
    ) -> Result<JsValue> {
        let as_parts = !super::blobs::stores_blobs(&self.db).await;
        downloads::end_download(&self.db, blob, outcome, parts, (as_parts, self.blob_cap), now).await
    }

    /// The stored `Blob` of `hash` (a chunk of it is sent as a slice).
    pub async fn blob_of(&self, hash: &str) -> Result<JsValue> {
        blobs::blob_of(&self.db, hash).await
    }
}

impl SyncStorage<JsData> for IdbStore {
    /// The conflict objects as stored: `{ collection, id, local, server, detectedAt }`.
    type Conflicts = JsValue;
    /// The dead outbox entries as stored, each with the server's `error`.
    type DeadLetters = JsValue;
    /// The log entries as stored, newest first.
    type Log = JsValue;

    fn next_download(&self, skip: &[String]) -> impl Future<Output = Result<Option<crate::protocol::BlobRef>>> {
        downloads::next_download(&self.db, skip)
    }

    fn next_upload(&self, skip: &[String]) -> impl Future<Output = Result<Option<crate::protocol::BlobRef>>> {
        blobs::next_upload(&self.db, skip)
    }

    fn end_upload(
        &self,
        hash: &str,
        outcome: crate::core::blobs::Uploaded,
        now: f64,
    ) -> impl Future<Output = Result<Decided>> {
        blobs::end_upload(&self.db, &self.schema, hash, outcome, now)
    }

    fn read_batch(&self, max: u32, unapplied: &[u64], now: f64) -> impl Future<Output = Result<Option<Batch<JsData>>>> {
        push::read_batch(&self.db, &self.schema, max, unapplied, now)
    }

    fn apply_push(
        &self,
        batch: Batch<JsData>,
        answer: PushResponse,
        now: f64,
    ) -> impl Future<Output = Result<PushApplied>> {
        push::apply_push(&self.db, &self.schema, batch, answer, now)
    }

    fn cursor(&self) -> impl Future<Output = Result<Option<String>>> {
        pull::cursor(&self.db)
    }

    fn reset_cursor(&self) -> impl Future<Output = Result<()>> {
        pull::reset_cursor(&self.db)
    }

    fn pull_from(&self) -> impl Future<Output = Result<PullFrom>> {
        spaces::pull_from(&self.db, &self.schema)
    }

    fn apply_spaces(
        &self,
        asked: &[SpaceCursor],
        answer: SpacesResponse,
        now: f64,
    ) -> impl Future<Output = Result<PageApplied>> {
        spaces::apply_spaces(&self.db, &self.schema, asked, answer, now)
    }

    async fn spaces(&self) -> Result<Vec<String>> {
        Ok(spaces::states(&self.db).await?.into_iter().map(|s| s.space).collect())
    }

    fn add_space(&self, space: &str) -> impl Future<Output = Result<bool>> {
        spaces::add_space(&self.db, space)
    }

    fn remove_space(&self, space: &str, discard_pending: bool, now: f64) -> impl Future<Output = Result<Decided>> {
        spaces::remove_space(&self.db, &self.schema, space, discard_pending, now)
    }

    fn apply_page(
        &self,
        asked_from: Option<&str>,
        page: PullResponse,
        last: bool,
        now: f64,
    ) -> impl Future<Output = Result<PageApplied>> {
        pull::apply_page(&self.db, &self.schema, asked_from, page, last, now)
    }

    fn counts(&self) -> impl Future<Output = Result<Counts>> {
        reads::sync_counts(&self.db, self.schema.collections.iter().any(|c| !c.blobs.is_empty()))
    }

    fn conflicts(&self) -> impl Future<Output = Result<JsValue>> {
        decisions::conflicts(&self.db)
    }

    fn dead_letters(&self) -> impl Future<Output = Result<JsValue>> {
        decisions::dead_letters(&self.db)
    }

    fn resolve_conflict(
        &self,
        collection: &str,
        id: &str,
        choice: Choice,
        mutation_id: &str,
        now: f64,
    ) -> impl Future<Output = Result<Decided>> {
        decisions::resolve_conflict(
            &self.db,
            &self.schema,
            collection,
            id,
            choice.into(),
            JsValue::UNDEFINED,
            mutation_id,
            now,
        )
    }

    async fn merge_conflict(
        &self,
        collection: &str,
        id: &str,
        merged: JsData,
        mutation_id: &str,
        now: f64,
    ) -> Result<Decided> {
        decisions::resolve_conflict(&self.db, &self.schema, collection, id, Side::Merged, merged.0, mutation_id, now)
            .await
    }

    fn settle_conflicts(
        &self,
        now: f64,
        clock_offset: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> impl Future<Output = Result<Settled>> {
        decisions::settle_conflicts(&self.db, &self.schema, now, clock_offset, mutation_id)
    }

    fn apply_answers(
        &self,
        answers: Vec<(String, String, Answer<JsData>)>,
        now: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> impl Future<Output = Result<Settled>> {
        decisions::apply_answers(&self.db, &self.schema, answers, now, mutation_id)
    }

    fn log(&self) -> impl Future<Output = Result<JsValue>> {
        log::read(&self.db)
    }

    fn clear_log(&self) -> impl Future<Output = Result<()>> {
        log::clear(&self.db)
    }

    fn begin_force(
        &self,
        force: &Force,
        now: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> impl Future<Output = Result<Decided>> {
        force::begin_force(&self.db, &self.schema, force, now, mutation_id)
    }

    fn finish_force_pull(&self, now: f64) -> impl Future<Output = Result<Decided>> {
        force::finish_force_pull(&self.db, &self.schema, now)
    }

    fn wipe(&self, collection: &str, discard_pending: bool, now: f64) -> impl Future<Output = Result<Decided>> {
        wipe::wipe(&self.db, collection, discard_pending, now)
    }

    fn retry_failed(
        &self,
        collection: &str,
        id: &str,
        mutation_id: &str,
        now: f64,
    ) -> impl Future<Output = Result<Decided>> {
        decisions::retry_failed(&self.db, &self.schema, collection, id, mutation_id, now)
    }

    fn discard_failed(&self, collection: &str, id: &str, now: f64) -> impl Future<Output = Result<Decided>> {
        decisions::discard_failed(&self.db, &self.schema, collection, id, now)
    }
}
