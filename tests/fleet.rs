//! Partner fleets end to end (issue 18 goal 1): `partners: N` against the embedded sandbox
//! (identities generated and registered), `bearing keygen --fleet` and a target naming the
//! fleet with `identities_dir` against `bearing serve`, and bad fleet input (exit 2 naming
//! the field). Every run is about a second and only talks to 127.0.0.1.

mod common;

use std::collections::BTreeSet;

use common::{load_summary as summary, run, serve, text, write_file as write};

/// Every partner of the report: distinct client ids, each with requests, no errors and at
/// least one token request (a token the gateway issued to that client id: a request with
/// an unregistered or mismatched identity fails).
fn assert_partners(doc: &serde_json::Value, n: usize) -> BTreeSet<String> {
    let p = &doc["partners"];
    assert_eq!(p["partners"], n, "{p:#}");
    let rows = p["worst_p99"].as_array().expect("worst_p99");
    assert_eq!(rows.len(), n, "{p:#}");
    let ids: BTreeSet<String> = rows
        .iter()
        .map(|r| r["client_id"].as_str().expect("client_id").to_owned())
        .collect();
    assert_eq!(ids.len(), n, "distinct client ids: {ids:?}");
    for r in rows {
        assert!(r["requests"].as_u64() > Some(0), "{r:#}");
        assert_eq!(r["errors"], 0, "{r:#}");
        assert!(r["token_requests"].as_u64() >= Some(1), "{r:#}");
    }
    assert_eq!(p["without_token"], 0);
    assert_eq!(p["with_errors"], 0);
    ids
}

// partners: 5 against the embedded sandbox: 5 identities generated and registered, users
// spread round-robin, every partner got tokens and answers (API and token scenarios).
#[test]
fn sandbox_fleet_reaches_every_partner() {
    let dir = tempfile::tempdir().expect("tmp");
    let prof = write(
        dir.path(),
        "fleet.yaml",
        "name: fleet\nduration: 1s\nusers: 10\npartners: 5\nrate: 200/s\n\
         scenarios:\n  - { name: api, kind: api }\n  - { name: tok, kind: token }\n",
    );
    let out = dir.path().join("report");
    let o = run(&["load", &prof, "--report-dir", out.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = summary(&out);
    let ids = assert_partners(&doc, 5);
    assert!(ids.iter().all(|i| i.starts_with("partner-")), "{ids:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("partners: 5"), "{stdout}");
    // Shard 1 of 2 runs partners 1 and 3 (0-based) of the fleet, not a copy of it.
    let out = dir.path().join("shard1");
    let o = run(&[
        "load",
        &prof,
        "--shard",
        "1/2",
        "--report-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ids = assert_partners(&summary(&out), 2);
    let want: BTreeSet<String> = ["partner-00002", "partner-00004"].map(str::to_owned).into();
    assert_eq!(ids, want);
}

// keygen --fleet 3 writes 3 identity folders (keys 0600) and the certificates file; the
// partners are registered with `bearing serve` from it, and a target naming the folder with
// identities_dir runs partners: 3 against it.
#[test]
fn keygen_fleet_and_identities_dir() {
    let dir = tempfile::tempdir().expect("tmp");
    let fleet = dir.path().join("fleet");
    let o = run(&[
        "keygen",
        "--fleet",
        "3",
        "--out",
        fleet.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let list = std::fs::read_to_string(fleet.join("certificates.txt")).expect("list");
    let lines: Vec<(&str, &str)> = list
        .lines()
        .map(|l| l.split_once('\t').expect("client_id<TAB>cert"))
        .collect();
    assert_eq!(lines.len(), 3, "{list}");
    let mut clients = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
    for (id, b64) in &lines {
        let d = fleet.join(id);
        assert!(d.join("cert.pem").is_file(), "{}", d.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(d.join("private.pem"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{id}");
        }
        // The portal's Base64 DER is what `serve --client ID=CERT` registers.
        let cert = write(dir.path(), &format!("{id}.b64"), b64);
        clients.push("--client".to_owned());
        clients.push(format!("{id}={cert}"));
    }
    let server = serve(&clients.iter().map(String::as_str).collect::<Vec<_>>());
    let (first, _) = lines[0];
    let target = write(
        dir.path(),
        "target.yaml",
        &format!(
            "token_url: {}\nclient_id: {first}\nprivate_key: fleet/{first}/private.pem\n\
             identities_dir: fleet\ntls: {{ allow_http: true }}\n\
             apis:\n  - {{ name: inventory, method: GET, url: {} }}\n",
            server.token_url, server.api_url
        ),
    );
    let prof = write(
        dir.path(),
        "fleet.yaml",
        "name: fleet\nduration: 1s\nusers: 3\npartners: 3\nrate: 60/s\n\
         scenarios:\n  - { name: api, kind: api }\n",
    );
    let out = dir.path().join("report");
    let o = run(&[
        "load",
        &prof,
        "--target",
        &target,
        "--report-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ids = assert_partners(&summary(&out), 3);
    let want: BTreeSet<String> = lines.iter().map(|(i, _)| (*i).to_owned()).collect();
    assert_eq!(ids, want);
    drop(server);
}

// Bad fleet input exits 2 naming the field or file, before anything runs.
#[test]
fn bad_fleet_input_exits_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        (
            "name: x\nduration: 1s\nusers: 2\npartners: 0\nscenarios: [{name: a, kind: api}]\n",
            "partners: 0",
        ),
        (
            "name: x\nduration: 1s\nusers: 2\npartners: 3\nscenarios: [{name: a, kind: api}]\n",
            "partners: 3",
        ),
        (
            "name: x\nduration: 1s\nusers: 20000\npartners: 10001\nscenarios: [{name: a, kind: api}]\n",
            "partners: 10001",
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let p = write(dir.path(), &format!("p{i}.yaml"), body);
        let o = run(&["load", &p]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(want),
            "{want}: {}",
            text(&o)
        );
    }
    // A target naming an identity whose key file is missing, and one naming too few.
    let key = dir.path().join("k");
    let o = run(&[
        "keygen",
        "--client-id",
        "one",
        "--alg",
        "ES256",
        "--out",
        key.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let target = write(
        dir.path(),
        "t.yaml",
        "token_url: http://127.0.0.1:9/oauth/token\nclient_id: one\nprivate_key: k/private.pem\n\
         tls: { allow_http: true }\napis: [{ name: a, url: 'http://127.0.0.1:9/a' }]\n\
         identities:\n  - { client_id: one, private_key: k/private.pem }\n  \
         - { client_id: two, private_key: missing/private.pem }\n",
    );
    let p = write(
        dir.path(),
        "two.yaml",
        "name: x\nduration: 1s\nusers: 2\npartners: 2\nscenarios: [{name: a, kind: api}]\n",
    );
    let o = run(&["load", &p, "--target", &target]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing/private.pem"),
        "{}",
        text(&o)
    );
    let p = write(
        dir.path(),
        "three.yaml",
        "name: x\nduration: 1s\nusers: 3\npartners: 3\nscenarios: [{name: a, kind: api}]\n",
    );
    let o = run(&["load", &p, "--target", &target]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("partners: 3 but the target names 2"),
        "{}",
        text(&o)
    );
}
