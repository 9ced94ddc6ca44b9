//! The package's TypeScript declarations. Every exported class and function skips its generated
//! typing, so `ferrysync.d.ts` is the one description of the public API.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("ferrysync.d.ts");
