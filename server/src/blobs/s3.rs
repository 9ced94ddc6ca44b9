//! The blobs' bytes in S3, or any S3-compatible service (`--blob-store s3://BUCKET[/PREFIX]`):
//! the same object store interface as the local directory, so nothing else changes. Credentials
//! and the other settings come from the standard `AWS_*` environment variables, never from the
//! command line.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::prefix::PrefixStore;

use super::BlobObjects;

/// Where and how to reach the bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// `s3://BUCKET` or `s3://BUCKET/PREFIX`.
    pub url: String,
    /// An S3-compatible service's URL instead of AWS's (`http://` is allowed).
    pub endpoint: Option<String>,
    /// The region (else `AWS_REGION` or `AWS_DEFAULT_REGION`, else us-east-1).
    pub region: Option<String>,
}

/// The bucket's store. Nothing is sent until the first request: a wrong bucket or credentials
/// show as failing requests (500, logged), not at start.
pub fn open(options: &S3Options) -> Result<BlobObjects, String> {
    let rest = options
        .url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("--blob-store {:?} is not s3://BUCKET or s3://BUCKET/PREFIX", options.url))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("--blob-store needs a bucket: s3://BUCKET or s3://BUCKET/PREFIX".into());
    }
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    let s3 = builder.build().map_err(|e| format!("cannot use --blob-store {}: {e}", options.url))?;
    let prefix = Path::parse(prefix.trim_matches('/'))
        .map_err(|e| format!("--blob-store {:?} has a prefix that is not a valid key: {e}", options.url))?;
    Ok(if prefix.as_ref().is_empty() {
        BlobObjects::new(Arc::new(s3))
    } else {
        BlobObjects::new(Arc::new(PrefixStore::new(s3, prefix)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let at = |url: &str| S3Options { url: url.into(), region: Some("eu-west-1".into()), ..S3Options::default() };
        assert!(open(&at("s3://bucket")).is_ok());
        assert!(open(&at("s3://bucket/some/prefix/")).is_ok());
        assert!(open(&at("gs://bucket")).unwrap_err().contains("s3://BUCKET"));
        assert!(open(&at("s3:///x")).unwrap_err().contains("needs a bucket"));
    }
}
