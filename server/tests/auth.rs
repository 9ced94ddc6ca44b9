//! Authentication over real sockets: JWTs (HS256 with a shared secret; RS256 and ES256 with a
//! JWKS file, rotated without a restart), their claims and expiry, development tokens only
//! behind their flag, and no start without any authentication.

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A temporary directory for key files, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("ferrysync-auth-{}-{}", std::process::id(), new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        // Through a rename, as a key rotation would: never a half-written file.
        std::fs::write(self.0.join(format!("{name}.tmp")), text).unwrap();
        std::fs::rename(self.0.join(format!("{name}.tmp")), &path).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hs256(claims: &Value, secret: &str) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn signed(alg: Algorithm, key_file: &str, kid: Option<&str>, claims: &Value) -> String {
    let der = std::fs::read(keys_dir().join(key_file)).unwrap();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
        Algorithm::ES256 => EncodingKey::from_ec_der(&der),
        _ => unreachable!(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, &key).unwrap()
}

fn jwks(names: &[&str]) -> String {
    let keys: Vec<Value> = names
        .iter()
        .map(|n| {
            serde_json::from_str(&std::fs::read_to_string(keys_dir().join(format!("{n}.jwk.json"))).unwrap()).unwrap()
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

fn claims(tenant: &str, exp_in: i64) -> Value {
    json!({ "sub": "user-1", "tenant": tenant, "exp": (now() as i64 + exp_in) })
}

async fn pulls(server: &TestServer, token: &str) -> Resp {
    Client::new(server, Some(token)).pull(None, None).await
}

#[tokio::test]
async fn hs256_tokens_carry_tenant_and_expiry() {
    let dir = TempDir::new();
    let secret = dir.write("secret", &format!("{SECRET}\n"));
    let server = start(&["--jwt-secret-file", &secret]).await;

    // Valid: the tenant comes from the claim, and tenants stay apart.
    let acme = Client::new(&server, Some(&hs256(&claims("acme", 600), SECRET)));
    acme.push_ok(vec![upsert("t", "a", json!({ "n": 1 }), None)]).await;
    assert_eq!(acme.snapshot().await.len(), 1);
    let other = Client::new(&server, Some(&hs256(&claims("other", 600), SECRET)));
    assert!(other.snapshot().await.is_empty());

    // Expired (beyond the 30 s leeway): 401 token_expired, so the client fetches a new one.
    let res = pulls(&server, &hs256(&claims("acme", -120), SECRET)).await;
    res.assert_error(401, "token_expired");
    assert!(res.header("www-authenticate").unwrap().starts_with("Bearer error=\"invalid_token\""));
    // Within the leeway it is still accepted.
    assert_eq!(pulls(&server, &hs256(&claims("acme", -5), SECRET)).await.status, 200);

    // Wrong key, no exp, missing or wrong tenant claim, not yet valid, not a JWT: invalid_token.
    let mut no_exp = claims("acme", 0);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut no_tenant = claims("acme", 600);
    no_tenant.as_object_mut().unwrap().remove("tenant");
    let mut numeric_tenant = claims("acme", 600);
    numeric_tenant["tenant"] = json!(42);
    let mut future = claims("acme", 600);
    future["nbf"] = json!(now() + 3600);
    let mut no_user = claims("acme", 600);
    no_user.as_object_mut().unwrap().remove("sub");
    for (what, token, reason) in [
        ("wrong key", hs256(&claims("acme", 600), "another-secret-another-secret-xx"), "signature"),
        ("no exp", hs256(&no_exp, SECRET), "exp"),
        ("no tenant", hs256(&no_tenant, SECRET), "tenant"),
        ("tenant not a string", hs256(&numeric_tenant, SECRET), "tenant"),
        ("nbf in the future", hs256(&future, SECRET), "nbf"),
        ("no user", hs256(&no_user, SECRET), "user"),
        ("not a JWT", "garbage".to_string(), "not a JWT"),
        ("RS256 without a JWKS", signed(Algorithm::RS256, "rsa-a.der", Some("rsa-a"), &claims("acme", 600)), "key"),
    ] {
        let res = pulls(&server, &token).await;
        res.assert_error(401, "invalid_token");
        let message = res.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(reason), "{what}: {message}");
        assert!(!message.contains(&token[..token.len().min(20)]), "{what}: the token is not echoed");
    }
    // Nothing changed for acme through any of them.
    assert_eq!(acme.snapshot().await.len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn claims_names_issuer_and_audience_are_configurable() {
    let dir = TempDir::new();
    let secret = dir.write("secret", SECRET);
    let server = start(&[
        "--jwt-secret-file",
        &secret,
        "--jwt-tenant-claim",
        "/app/org",
        "--jwt-user-claim",
        "email",
        "--jwt-issuer",
        "https://auth.example.test",
        "--jwt-audience",
        "ferrysync",
    ])
    .await;
    let good = json!({ "app": { "org": "o1" }, "email": "a@example.test", "iss": "https://auth.example.test",
                       "aud": ["other", "ferrysync"], "exp": now() + 600 });
    assert_eq!(pulls(&server, &hs256(&good, SECRET)).await.status, 200);
    for (field, value) in
        [("iss", json!("https://evil.test")), ("aud", json!("other")), ("app", json!({ "tenant": "o1" }))]
    {
        let mut bad = good.clone();
        bad[field] = value;
        pulls(&server, &hs256(&bad, SECRET)).await.assert_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn jwks_keys_verify_rs256_and_es256_and_rotate_without_a_restart() {
    let dir = TempDir::new();
    let jwks_file = dir.write("jwks.json", &jwks(&["rsa-a", "ec-a"]));
    let server = start(&["--jwks-file", &jwks_file]).await;
    let rsa_a = signed(Algorithm::RS256, "rsa-a.der", Some("rsa-a"), &claims("acme", 600));
    let ec_a = signed(Algorithm::ES256, "ec-a.der", Some("ec-a"), &claims("acme", 600));
    let rsa_b = signed(Algorithm::RS256, "rsa-b.der", Some("rsa-b"), &claims("acme", 600));
    assert_eq!(pulls(&server, &rsa_a).await.status, 200);
    assert_eq!(pulls(&server, &ec_a).await.status, 200);
    // Without a kid, every key of the algorithm is tried.
    assert_eq!(pulls(&server, &signed(Algorithm::ES256, "ec-a.der", None, &claims("acme", 600))).await.status, 200);
    pulls(&server, &rsa_b).await.assert_error(401, "invalid_token");
    // A key signed with rsa-b but claiming kid rsa-a: wrong key.
    let forged = signed(Algorithm::RS256, "rsa-b.der", Some("rsa-a"), &claims("acme", 600));
    pulls(&server, &forged).await.assert_error(401, "invalid_token");
    // HS256 is not accepted when no secret is configured (no algorithm confusion with the JWKS).
    pulls(&server, &hs256(&claims("acme", 600), SECRET)).await.assert_error(401, "invalid_token");
    let expired = signed(Algorithm::ES256, "ec-a.der", Some("ec-a"), &claims("acme", -120));
    pulls(&server, &expired).await.assert_error(401, "token_expired");

    // Rotation: rsa-b comes in, rsa-a goes out, the server keeps running.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    dir.write("jwks.json", &jwks(&["rsa-b", "ec-a"]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(pulls(&server, &rsa_b).await.status, 200, "the new key is used");
    pulls(&server, &rsa_a).await.assert_error(401, "invalid_token");
    // A broken file keeps the keys in use.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    dir.write("jwks.json", "{ not json");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(pulls(&server, &rsa_b).await.status, 200);
}

#[test]
fn the_server_refuses_to_start_without_authentication() {
    let (code, err) = refused_start(&[], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("no authentication is configured") && err.contains("--dev-tokens"), "{err}");
    // Files that cannot be used are refused at start too, with what was wrong.
    let (_, err) = refused_start(&["--jwks-file", "/nonexistent/jwks.json"], &[]);
    assert!(err.contains("cannot read /nonexistent/jwks.json"), "{err}");
    let dir = TempDir::new();
    let short = dir.write("short", "too-short");
    let (_, err) = refused_start(&["--jwt-secret-file", &short], &[]);
    assert!(err.contains("at least 32 bytes"), "{err}");
    let empty = dir.write("jwks.json", r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#);
    let (_, err) = refused_start(&["--jwks-file", &empty], &[]);
    assert!(err.contains("no usable RS256 or ES256 key"), "{err}");
}

#[tokio::test]
async fn development_tokens_and_jwts_together() {
    let dir = TempDir::new();
    let secret = dir.write("secret", SECRET);
    let server = start(&["--jwt-secret-file", &secret, "--dev-tokens", "dev-a=alpha"]).await;
    let dev = Client::new(&server, Some("dev-a"));
    dev.push_ok(vec![upsert("t", "a", json!({}), None)]).await;
    let jwt = Client::new(&server, Some(&hs256(&claims("alpha", 600), SECRET)));
    assert_eq!(jwt.snapshot().await, dev.snapshot().await, "the same tenant either way");
    pulls(&server, "dev-token").await.assert_error(401, "invalid_token");
}
