//! What a conflict is made of and how it is settled without a person: the record data as the
//! diff and the merge see it ([`tree`]), the field-level diff a UI shows ([`diff`]), the
//! three-way merge ([`merge`]) and the strategies a collection declares ([`strategy`]). All of it
//! is pure: a store reads the local record, the server's and the base, and carries out what
//! [`strategy::settle`] answers.

pub mod diff;
pub mod merge;
pub mod strategy;
pub mod tree;

#[cfg(test)]
pub(crate) mod test_tree;
