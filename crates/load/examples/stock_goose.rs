//! Stock goose against one API route, for the side-by-side comparison in
//! `scripts/load-vs-oha.sh`: goose's own request path (`GooseUser::request`) and its own
//! per-request metrics — what bearing-load replaces on its hot path.
//!
//! ```text
//! cargo run --release -p bearing-load --example stock_goose -- URL TOKEN USERS SECONDS [THROTTLE]
//! ```
//! Prints one JSON line: `{"requests", "seconds", "rps", "p50_us"}`. Only for 127.0.0.1.

use std::sync::Arc;

use goose::config::GooseConfiguration;
use goose::goose::GooseMethod;
use goose::prelude::{GooseAttack, GooseRequest, Scenario, Transaction, TransactionFunction};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, token, users, seconds, rest @ ..] = args.as_slice() else {
        return Err("usage: stock_goose URL TOKEN USERS SECONDS [THROTTLE]".into());
    };
    let parsed = url::Url::parse(url)?;
    if parsed.host_str() != Some("127.0.0.1") {
        return Err("stock_goose only targets 127.0.0.1".into());
    }
    let base = format!(
        "{}://127.0.0.1:{}",
        parsed.scheme(),
        parsed.port().unwrap_or(80)
    );
    let path = parsed.path().to_owned();
    let mut c = GooseConfiguration::default();
    c.host = Some(base);
    c.users = Some(users.parse()?);
    c.increase_rate = Some("1000".into());
    c.run_time = Some(seconds.clone());
    c.no_telnet = true;
    c.no_print_metrics = true;
    c.no_error_summary = true;
    c.quiet = 1;
    if let Some(t) = rest.first() {
        c.throttle_requests = Some(t.parse()?);
    }
    let auth = format!("Bearer {token}");
    let f: TransactionFunction = Arc::new(move |user| {
        let path = path.clone();
        let auth = auth.clone();
        Box::pin(async move {
            let rb = user
                .get_request_builder(&GooseMethod::Get, &path)?
                .header("Authorization", auth);
            let req = GooseRequest::builder().set_request_builder(rb).build();
            let _ = user.request(req).await?;
            Ok(())
        })
    });
    let attack = GooseAttack::initialize_with_config(c)?
        .register_scenario(Scenario::new("api").register_transaction(Transaction::new(f)));
    let metrics = Box::pin(attack.execute()).await?;
    let (mut n, mut p50) = (0usize, 0u64);
    for agg in metrics.requests.values() {
        n += agg.raw_data.counter;
        p50 = agg.raw_data.percentile_us(0.5);
    }
    let secs = metrics.duration.max(1);
    println!(
        r#"{{"requests": {n}, "seconds": {secs}, "rps": {:.1}, "p50_us": {p50}}}"#,
        n as f64 / secs as f64
    );
    Ok(())
}
