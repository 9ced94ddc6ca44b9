//! Blobs in S3 (`--blob-store s3://…`), against moto's S3 server on 127.0.0.1 (installed by
//! scripts/setup.sh into .venv-moto, started and stopped here): an upload in chunks whose
//! assembly takes more than one multipart part, the download and a range, and collection.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ferrysync_server::http::AppState;
use serde_json::json;
use sha2::{Digest, Sha256};

/// moto's server, killed (and waited for) when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv-moto/bin/moto_server");
        assert!(std::path::Path::new(bin).exists(), "moto is missing: run scripts/setup.sh (it installs .venv-moto)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's options over `db`, its blobs in the bucket instead of a directory.
fn args(db: &TestDb, moto: &Moto) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut db_args = db.args().into_iter();
    while let Some(a) = db_args.next() {
        if a == "--blob-dir" {
            db_args.next();
        } else {
            args.push(a);
        }
    }
    args.extend(
        ["--blob-store", "s3://ferrysync-test/some/prefix", "--s3-endpoint", &moto.url, "--s3-region", "us-east-1"]
            .map(String::from),
    );
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_in_s3() {
    let moto = Moto::start();
    // The only test of this binary: the environment is not read by another at the same time.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let bucket = Client::for_url(&moto.url, None).send("PUT", "/ferrysync-test", &[], None).await;
    assert_eq!(bucket.status, 200, "{}", String::from_utf8_lossy(&bucket.body));

    let db = std::sync::Arc::new(TestDb::new("s3").await);
    let args = args(&db, &moto);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut full = vec!["ferrysync-server", "--listen", "127.0.0.1:0", "--dev-tokens", "dev-token=dev"];
    full.extend(argv.iter().copied());
    let config = <ferrysync_server::Config as clap::Parser>::try_parse_from(full).unwrap();
    let server = ferrysync_server::start(config.clone()).await.unwrap_or_else(|e| panic!("server starts: {e}"));
    let c = Client::for_url(&server.url(), Some(TOKEN));

    // 6 MiB in 2 MiB chunks: the assembly writes two multipart parts (5 MiB, then the rest).
    let mut rng = fastrand::Rng::with_seed(7);
    let data: Vec<u8> = (0..6 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    let hash = sha(&data);
    let chunk = 2 * 1024 * 1024;
    for offset in (0..data.len()).step_by(chunk) {
        let end = (offset + chunk).min(data.len());
        let path = format!("/v1/blobs/{hash}/upload?offset={offset}&size={}", data.len());
        let res = c.send("PATCH", &path, &[], Some(data[offset..end].to_vec())).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.json()["complete"], end == data.len());
    }
    let res = c.get(&format!("/v1/blobs/{hash}")).await;
    assert_eq!(res.status, 200);
    assert!(res.body == data, "the bytes come back from S3 as uploaded");
    let res = c.send("GET", &format!("/v1/blobs/{hash}"), &[("range", "bytes=5242870-5242889")], None).await;
    assert_eq!((res.status, res.body.as_slice()), (206, &data[5_242_870..5_242_890]));
    // The objects are under the prefix, per tenant: the blob, and no chunk left.
    let list = Client::for_url(&moto.url, None).get("/ferrysync-test?list-type=2").await;
    let listing = String::from_utf8_lossy(&list.body).into_owned();
    assert_eq!(listing.matches("<Key>").count(), 1, "{listing}");
    assert!(listing.contains(&format!("<Key>some/prefix/dev/{hash}</Key>")), "{listing}");

    // A wrong upload is dropped from the bucket too; a collection deletes the unreferenced blob.
    let wrong = sha(b"something else");
    let path = format!("/v1/blobs/{wrong}/upload?offset=0&size=3");
    c.send("PATCH", &path, &[], Some(b"abc".to_vec())).await.assert_error(422, "hash_mismatch");
    let state = AppState::new(config, db.store().await);
    let day = 24 * 3600 * 1000;
    let collected =
        ferrysync_server::blobs::gc::collect(&state, ferrysync_server::store::now_ms() + day + 1000).await.unwrap();
    assert_eq!(collected.blobs, vec![("dev".to_string(), hash.clone())]);
    c.get(&format!("/v1/blobs/{hash}")).await.assert_error(404, "blob_not_found");
    let list = Client::for_url(&moto.url, None).get("/ferrysync-test?list-type=2").await;
    let listing = String::from_utf8_lossy(&list.body).into_owned();
    assert_eq!(listing.matches("<Key>").count(), 0, "{listing}");
    assert_eq!(json!(c.get(&format!("/v1/blobs/{hash}/upload")).await.json()["offset"]), json!(0));
    server.shutdown().await;
}
