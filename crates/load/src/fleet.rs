//! Partner fleets (`partners: N`): which partner each user runs as (round-robin), and the
//! per-partner figures: requests, errors, a coarse latency histogram (1 significant figure:
//! ±6 %, ~1.5 KB per partner, so 10,000 partners stay ~15 MB), token requests and refreshes.
//! The report keeps top-k tables (worst by p99, by errors) and spreads, never a row per
//! partner, so its size does not grow with N.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bearing_auth::token::TokenManager;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::target::Partner;

/// How many partners each top-k table lists.
pub const TOP_K: usize = 10;

/// Highest latency a partner histogram tracks (µs); longer ones saturate.
const MAX_US: u64 = 600_000_000;

#[derive(Debug)]
struct Cell {
    index: usize,
    client_id: String,
    users: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    token_requests: AtomicU64,
    latency: Mutex<Histogram<u32>>,
}

/// The fleet of one run: partner assignment and per-partner counters.
#[derive(Debug)]
pub(crate) struct Fleet {
    cells: Vec<Cell>,
    next_user: AtomicUsize,
    managers: Mutex<Vec<(usize, TokenManager)>>,
}

impl Fleet {
    pub(crate) fn new(partners: &[Partner]) -> Self {
        let cells = partners
            .iter()
            .map(|p| Cell {
                index: p.index,
                client_id: p.client_id.clone(),
                users: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                token_requests: AtomicU64::new(0),
                latency: Mutex::new(
                    Histogram::new_with_bounds(1, MAX_US, 1)
                        .expect("1 significant figure over 1 µs..600 s is valid"),
                ),
            })
            .collect();
        Self {
            cells,
            next_user: AtomicUsize::new(0),
            managers: Mutex::new(Vec::new()),
        }
    }

    /// The partner slot of the next user (round-robin over all users of the run).
    pub(crate) fn assign(&self) -> usize {
        let slot = self.next_user.fetch_add(1, Ordering::Relaxed) % self.cells.len().max(1);
        if let Some(c) = self.cells.get(slot) {
            c.users.fetch_add(1, Ordering::Relaxed);
        }
        slot
    }

    /// Whether the run has more than one partner (only then is a report kept).
    pub(crate) fn is_fleet(&self) -> bool {
        self.cells.len() > 1
    }

    /// Records one request of partner `slot`: from its intended start to its end.
    pub(crate) fn record(&self, slot: usize, intended: Instant, done: Instant, ok: bool) {
        if !self.is_fleet() {
            return;
        }
        let Some(c) = self.cells.get(slot) else {
            return;
        };
        c.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(done.saturating_duration_since(intended).as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_US);
        if let Ok(mut h) = c.latency.lock() {
            h.saturating_record(us);
        }
    }

    /// Counts a token request of partner `slot` sent outside a token manager.
    pub(crate) fn token_request(&self, slot: usize) {
        if let Some(c) = self.cells.get(slot) {
            c.token_requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keeps a user's token manager, to count its token requests and refreshes at the end.
    pub(crate) fn add_manager(&self, slot: usize, m: TokenManager) {
        if self.is_fleet()
            && let Ok(mut ms) = self.managers.lock()
        {
            ms.push((slot, m));
        }
    }

    /// The report; `None` for a single identity.
    pub(crate) fn report(&self) -> Option<PartnerReport> {
        if !self.is_fleet() {
            return None;
        }
        let mut rows: Vec<PartnerRow> = self
            .cells
            .iter()
            .map(|c| {
                let p99 = c.latency.lock().map_or(0, |h| {
                    if h.is_empty() {
                        0
                    } else {
                        h.value_at_quantile(0.99)
                    }
                });
                PartnerRow {
                    index: c.index,
                    client_id: c.client_id.clone(),
                    users: c.users.load(Ordering::Relaxed),
                    requests: c.requests.load(Ordering::Relaxed),
                    errors: c.errors.load(Ordering::Relaxed),
                    p99_us: p99,
                    token_requests: c.token_requests.load(Ordering::Relaxed),
                    refreshes: 0,
                }
            })
            .collect();
        if let Ok(ms) = self.managers.lock() {
            for (slot, m) in ms.iter() {
                if let Some(r) = rows.get_mut(*slot) {
                    let s = m.stats();
                    r.token_requests += s.token_requests;
                    r.refreshes += s.refreshes_ahead;
                }
            }
        }
        let spread = |f: fn(&PartnerRow) -> u64| {
            let v: Vec<u64> = rows.iter().map(f).collect();
            Spread {
                min: v.iter().copied().min().unwrap_or(0),
                mean: v.iter().sum::<u64>() as f64 / v.len().max(1) as f64,
                max: v.iter().copied().max().unwrap_or(0),
            }
        };
        let token_requests = spread(|r| r.token_requests);
        let refreshes = spread(|r| r.refreshes);
        let requests = spread(|r| r.requests);
        let without_token = rows.iter().filter(|r| r.token_requests == 0).count();
        let with_errors = rows.iter().filter(|r| r.errors > 0).count();
        let mut by_p99 = rows.clone();
        by_p99.sort_by(|a, b| b.p99_us.cmp(&a.p99_us).then(a.index.cmp(&b.index)));
        by_p99.truncate(TOP_K);
        let mut by_errors: Vec<PartnerRow> = rows.into_iter().filter(|r| r.errors > 0).collect();
        by_errors.sort_by(|a, b| b.errors.cmp(&a.errors).then(a.index.cmp(&b.index)));
        by_errors.truncate(TOP_K);
        Some(PartnerReport {
            partners: self.cells.len(),
            top_k: TOP_K,
            requests,
            token_requests,
            refreshes,
            without_token,
            with_errors,
            worst_p99: by_p99,
            most_errors: by_errors,
        })
    }
}

/// Min, mean and max of a per-partner count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: u64,
}

/// One partner's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerRow {
    /// Position in the fleet.
    pub index: usize,
    /// Client id.
    pub client_id: String,
    /// Users that ran as this partner.
    pub users: u64,
    /// Requests of its main phase (API calls, or token requests of a token scenario).
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Corrected p99 of its requests, µs (±6 %).
    pub p99_us: u64,
    /// Token requests it sent.
    pub token_requests: u64,
    /// Tokens it refreshed ahead of expiry.
    pub refreshes: u64,
}

/// The per-partner part of a run's report: bounded in size whatever N is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerReport {
    /// Partners in the run (this shard's share when sharded).
    pub partners: usize,
    /// Rows per table.
    pub top_k: usize,
    /// Requests per partner.
    pub requests: Spread,
    /// Token requests per partner.
    pub token_requests: Spread,
    /// Refreshes ahead per partner.
    pub refreshes: Spread,
    /// Partners that sent no token request.
    pub without_token: usize,
    /// Partners with at least one failed request.
    pub with_errors: usize,
    /// The k partners with the highest p99.
    pub worst_p99: Vec<PartnerRow>,
    /// The k partners with the most errors (only partners with errors).
    pub most_errors: Vec<PartnerRow>,
}
