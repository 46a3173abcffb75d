//! End-to-end tests of `bearing bench verify`: the real binary validates assertions through
//! the sandbox's validation path, its JSON output validates against
//! schemas/bench-verify.schema.json, and the HTML report has a bar per algorithm.

mod common;

use common::run as bearing;

const SCHEMA: &str = "bench-verify.schema.json";

// Two algorithms on one thread for a moment: the JSON matches the schema, every figure is
// positive, the breakdown's parts fit in its total, the sizing divides the grant rate by the
// per-core rate, and the HTML report names both algorithms; a broken document is refused.
#[test]
fn json_and_html_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("verify.html");
    let html_arg = html.to_str().expect("utf-8");
    let out = bearing(&[
        "bench",
        "verify",
        "--alg",
        "ES256,EdDSA",
        "--threads",
        "1",
        "--duration",
        "200ms",
        "--no-openssl",
        "--grants-per-sec",
        "5000",
        "--report",
        html_arg,
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    common::assert_schema(SCHEMA, &doc);
    let v = common::validator(SCHEMA);
    let algs = doc["algorithms"].as_array().expect("algorithms");
    assert_eq!(algs.len(), 2);
    for (r, alg) in algs.iter().zip(["ES256", "EdDSA"]) {
        assert_eq!(r["alg"], alg);
        assert!(r["openssl"].is_null());
        let step = &r["steps"][0];
        assert_eq!(step["threads"], 1);
        assert!(step["validated"].as_u64().expect("count") > 0, "{step}");
        let b = &r["breakdown"];
        let total = b["total_us"].as_f64().expect("total");
        let sig = b["signature_us"].as_f64().expect("signature");
        assert!(total > 0.0 && sig > 0.0 && sig < total * 1.5, "{b}");
        let s = &r["sizing"];
        let per_core = s["verify_per_core_per_sec"].as_f64().expect("rate");
        let cores = s["cores_for_validation"].as_f64().expect("cores");
        assert!(
            (cores - 5000.0 / per_core).abs() < 1e-6 * cores.max(1.0),
            "{s}"
        );
        assert!(s["sign_per_core_per_sec"].as_f64().expect("sign") > 0.0);
    }
    let page = std::fs::read_to_string(&html).expect("report written");
    assert!(page.contains("ES256 (EC P-256) verify, bearing"), "{page}");
    assert!(page.contains("EdDSA (Ed25519) verify, bearing"), "{page}");
    assert!(!page.contains("<script"), "self-contained, no scripts");
    let mut broken = doc.clone();
    broken["algorithms"][0]["steps"][0]["threads"] = serde_json::json!("one");
    assert!(!v.is_valid(&broken));
    let mut extra = doc;
    extra["algorithms"][0]["surprise"] = serde_json::json!(1);
    assert!(!v.is_valid(&extra));
}

// The text output has the table, the breakdown and the sizing sentence.
#[test]
fn text_output() {
    let out = bearing(&[
        "bench",
        "verify",
        "--alg",
        "EdDSA",
        "--threads",
        "1",
        "--duration",
        "100ms",
        "--no-openssl",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("verified/s"), "{text}");
    assert!(text.contains("one validation"), "{text}");
    assert!(
        text.contains("a token endpoint that must verify 10000 grants/s needs"),
        "{text}"
    );
    assert!(text.contains("Keycloak publishes ~120"), "{text}");
}
