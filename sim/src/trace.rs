//! The trace a replayed seed prints: one line per thing that happened, stamped with the step and
//! the simulated time, and the short names it gives requests, answers and engine commands.

use ferrysync::core::sync::engine::Command;

use crate::data::Data;
use crate::network::{Answer, Kind};
use crate::world::{World, EPOCH_MS};

impl World {
    pub(crate) fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("[{:>6} t+{:>7}ms] {}", self.tick, self.now - EPOCH_MS, line()));
        }
    }
}

pub(crate) fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Push(b) => {
            let ids: Vec<String> =
                b.mutations.iter().map(|m| format!("{}/{}:{:?}", m.collection, m.id, m.op)).collect();
            format!("push [{}]", ids.join(", "))
        }
        Kind::Pull { cursor, limit } => format!("pull after {cursor:?} limit {limit}"),
        Kind::PullSpaces(r) => {
            let s: Vec<String> = r.spaces.iter().map(|s| format!("{:?}@{:?}", s.space, s.cursor)).collect();
            format!("pull spaces [{}]", s.join(", "))
        }
        Kind::Probe => "probe".into(),
        Kind::BlobStatus { hash } => format!("blob status {}", &hash[..8]),
        Kind::Chunk { hash, offset, size, bytes } => {
            format!("chunk of {} at {offset} ({} of {size} bytes)", &hash[..8], bytes.len())
        }
        Kind::Range { hash, offset, len } => format!("range of {} at {offset} ({len} bytes)", &hash[..8]),
    }
}

pub(crate) fn answer_name(answer: &Answer) -> String {
    match answer {
        Answer::Push(Ok(r)) => {
            let s: Vec<&str> = r.results.iter().map(|r| r.status()).collect();
            format!("[{}]", s.join(", "))
        }
        Answer::Pull(Ok(p)) => format!("{} changes to {}", p.changes.len(), p.cursor),
        Answer::PullSpaces(Ok(a)) => {
            let s: Vec<String> = a
                .spaces
                .iter()
                .map(|p| format!("{:?}: {} changes {} left to {}", p.space, p.changes.len(), p.left.len(), p.cursor))
                .collect();
            format!("[{}]", s.join(", "))
        }
        Answer::Probe(Ok(())) => "ok".into(),
        Answer::Blob(Ok(a)) => format!("{a:?}"),
        Answer::Range(Ok((fetched, _))) => format!("{fetched:?}"),
        Answer::Push(Err(f))
        | Answer::Pull(Err(f))
        | Answer::PullSpaces(Err(f))
        | Answer::Probe(Err(f))
        | Answer::Blob(Err(f))
        | Answer::Range(Err(f)) => format!("{f:?}"),
    }
}

pub(crate) fn command_name(c: &Command<Data>) -> String {
    match c {
        Command::Push { batch } => format!("Push({})", batch.len()),
        Command::ApplyPush { batch, .. } => format!("ApplyPush({})", batch.len()),
        Command::ApplyPage { page, last, .. } => {
            format!("ApplyPage({}, {}{})", page.changes.len(), page.cursor, if *last { "" } else { ", a slice" })
        }
        Command::Publish(_) => "Publish".into(),
        Command::PostStatus(_) => "PostStatus".into(),
        Command::Announce(_) => "Announce".into(),
        other => {
            let text = format!("{other:?}");
            short(&text).to_string()
        }
    }
}

pub(crate) fn short(s: &str) -> &str {
    let end = s.char_indices().nth(120).map_or(s.len(), |(i, _)| i);
    &s[..end]
}
