//! Collections' own conflict resolvers (`conflicts: (conflict) => …` at open): asked about the
//! conflicts the engine names, each within a bounded time, and their answers read into the
//! core's [`Answer`]. A resolver that throws, rejects, takes too long or answers something else
//! leaves its conflict for a person, and the reason goes into the sync log.

use js_sys::{Array, Function};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::sync::storage::Answer;

use super::glue;
use super::js::{get, type_name};
use super::records::check_record;
use super::wire::JsData;

/// How long a resolver may take for one conflict.
pub const RESOLVER_TIMEOUT_MS: u32 = 10_000;

/// The resolver function of each collection that declared one.
#[derive(Default)]
pub struct Resolvers(pub Vec<(String, Function)>);

impl Resolvers {
    /// Asks each conflict's resolver, one at a time. `rows`: the conflicts as `conflicts()` gives
    /// them (the record here as it is now, the server's, the base, the diff).
    pub async fn ask(&self, asks: Vec<(String, String)>, rows: &JsValue) -> Vec<(String, String, Answer<JsData>)> {
        let rows = Array::from(rows);
        let mut answers = Vec::with_capacity(asks.len());
        for (collection, id) in asks {
            let row = rows.iter().find(|r| {
                get(r, "collection").as_string().as_deref() == Some(&collection)
                    && get(r, "id").as_string().as_deref() == Some(&id)
            });
            let resolver = self.0.iter().find(|(c, _)| *c == collection).map(|(_, f)| f);
            let answer = match (resolver, row) {
                (Some(f), Some(row)) => {
                    let asked = JsFuture::from(glue::call_resolver(f, &row, RESOLVER_TIMEOUT_MS)).await;
                    read_answer(&collection, &id, asked)
                }
                // Settled meanwhile, or no resolver any more: nothing to ask.
                _ => Answer::Manual(None),
            };
            answers.push((collection, id, answer));
        }
        answers
    }
}

/// What a resolver's answer means: `"local"`, `"server"`, `"manual"`, or merged data (a plain
/// object a record could hold, with no other id).
fn read_answer(collection: &str, id: &str, asked: Result<JsValue, JsValue>) -> Answer<JsData> {
    let value = match asked {
        Ok(v) => v,
        Err(e) => {
            let message =
                e.dyn_ref::<js_sys::Error>().map_or_else(|| type_name(&e).to_string(), |e| e.message().into());
            return Answer::Manual(Some(format!("the resolver failed: {message}")));
        }
    };
    match value.as_string().as_deref() {
        Some("local") => return Answer::Local,
        Some("server") => return Answer::Server,
        Some("manual") => return Answer::Manual(None),
        _ => {}
    }
    if glue::fields_of(&value).is_undefined() {
        return Answer::Manual(Some(format!(
            "the resolver answered {}, not \"local\", \"server\", \"manual\" or merged data",
            type_name(&value)
        )));
    }
    match check_record(collection, &value) {
        Ok(Some(other)) if other != id => {
            Answer::Manual(Some(format!("the resolver's merged data has another id, \"{other}\"")))
        }
        Ok(_) => Answer::Merged(JsData(value)),
        Err(e) => Answer::Manual(Some(format!("the resolver's merged data was refused: {}", e.message))),
    }
}
