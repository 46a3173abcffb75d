//! Temporary measurement helper (deleted after use).
use std::time::Duration;
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let key = bearing_auth::SigningKey::generate(bearing_auth::Algorithm::RS256, 2048)?;
    let cert = bearing_auth::Certificate::self_signed(&key, "SampleConfId", 1)?;
    let kp = dir.path().join("key.pem");
    std::fs::write(&kp, key.to_pkcs8_pem().as_bytes())?;
    let mut config = bearing_gateway::GatewayConfig::sandbox(vec![("SampleConfId".to_owned(), cert)]);
    config.token_lifetime = Some(Duration::from_secs(300));
    let gw = bearing_gateway::spawn(config).await?;
    let t = bearing_auth::Target {
        token_url: gw.token_url.parse()?, audience: None, client_id: "SampleConfId".into(), private_key: kp,
        certificate: None, profile: None, apis: vec![], tls: Default::default(), assertion: Default::default(),
        admin_url: None, admin_secret: None, origin: None,
    };
    let p = bearing_load::Profile::from_file(std::path::Path::new(&a[0]))?;
    let lt = bearing_load::LoadTarget::from_target(&t, "")?;
    let r = Box::pin(bearing_load::run(&p, &lt, &bearing_load::RunOptions::default())).await?;
    let sc = &r.scenarios[0];
    let s = sc.phase_stats(bearing_load::Phase::Token, r.seconds());
    println!("token: count {} rate {:.0} errors {} p50 {}µs p99 {}µs corrected p99 {}µs; signing {:?}", s.count, s.rate, s.errors, s.uncorrected.p50, s.uncorrected.p99, s.corrected.p99, sc.signing);
    Ok(())
}
