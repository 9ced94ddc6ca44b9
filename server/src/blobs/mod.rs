//! Blobs, the files in records: their bytes in an object store ([`objects`]; a directory, memory,
//! or S3 through [`s3`]), the references to
//! them in record data ([`refs`]), and the collection of the ones no record holds any more
//! ([`gc`]). Their metadata (which blobs are complete, uploads in progress and their chunks,
//! which record refers to which blob) is in the SQL store, next to the records; the HTTP side is
//! `http::blobs`.

pub mod gc;
pub mod objects;
pub mod refs;
pub mod s3;

pub use objects::BlobObjects;
