//! The `bearing certify` operation (issue 13: the CLI parses flags, the library does the
//! work): [`CertifySettings`] in; configuration, plan, `--expect-fail` list and report folder
//! checked before the gateway starts; the observing gateway started and driven through the
//! plan until it completes or `stop` resolves; the summary judged and the reports written into
//! a [`CertifyFinished`] the CLI prints. Banner and progress lines go to the caller's
//! callback; errors are typed ([`CertifyRunError`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bearing_report::bundle::Manifest;
use bearing_report::{EvidenceError, EvidenceSettings};

use crate::{Certification, CertifyOptions, CertifySummary, Error, Mark, Plan};

/// What `bearing certify` was asked to do.
#[derive(Debug, Clone)]
pub struct CertifySettings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Clients to certify, `ID=cert.pem`.
    pub clients: Vec<String>,
    /// Their scopes, `ID=read,write`.
    pub client_scopes: Vec<String>,
    /// The gateway profile (name or file).
    pub profile: Option<String>,
    /// The plan (bundled name or file).
    pub plan: String,
    /// The report folder (default reports/<UTC timestamp>-certify).
    pub report_dir: Option<PathBuf>,
    /// Total observation time.
    pub duration: Option<Duration>,
    /// Known deviations.
    pub expect_fail: Option<PathBuf>,
    /// Report folder and bundle.
    pub evidence: EvidenceSettings,
}

/// Why `bearing certify` stopped.
#[derive(Debug, thiserror::Error)]
pub enum CertifyRunError {
    /// Bad input named by its flag: exit 2.
    #[error("{0}")]
    Input(String),
    /// The gateway configuration from the flags.
    #[error(transparent)]
    Config(#[from] bearing_gateway::OverrideError),
    /// The plan.
    #[error("--plan")]
    Plan(#[source] Error),
    /// The report folder, bundle or `--expect-fail` list.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The gateway did not start.
    #[error("starting the certification gateway")]
    Start(#[source] Error),
    /// The reports could not be written; the cause follows.
    #[error("writing the reports into {}", .0.display())]
    Write(PathBuf, #[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A finished certification: the summary to print, where the reports went.
#[derive(Debug)]
pub struct CertifyFinished {
    /// The judged summary.
    pub summary: CertifySummary,
    /// The report folder, when written.
    pub dir: Option<PathBuf>,
    /// The bundle's manifest, when one was written.
    pub manifest: Option<Manifest>,
    error: Option<CertifyRunError>,
}

impl CertifyFinished {
    /// Whether the clients are certified (the exit code).
    ///
    /// # Errors
    /// The reports could not be written.
    pub fn certified(self) -> Result<bool, CertifyRunError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.summary.is_certified_with_expected()),
        }
    }
}

/// Runs `bearing certify`: checks everything, starts the gateway, hands the banner lines and
/// then each progress line to `lines`, runs until the plan ends or the future `stop()` made
/// right after the start (so no signal is lost) resolves, writes the reports.
///
/// # Errors
/// Bad flags, certificates, plan, list or folder; a gateway that cannot start.
pub async fn run_certify<F: Future<Output = ()>>(
    s: &CertifySettings,
    stop: impl FnOnce() -> F,
    lines: impl Fn(Vec<String>, bool) + Send + 'static,
) -> Result<CertifyFinished, CertifyRunError> {
    if s.duration.is_some_and(|d| d.is_zero()) {
        return Err(CertifyRunError::Input(
            "--duration: must be more than 0s".into(),
        ));
    }
    let config = bearing_gateway::certify_config(
        s.listen,
        s.profile.as_deref(),
        &s.clients,
        &s.client_scopes,
    )?;
    let plan = Plan::resolve(&s.plan).map_err(CertifyRunError::Plan)?;
    let ids = crate::catalog().iter().map(|c| c.id).collect::<Vec<_>>();
    let expect = bearing_report::expect_list(s.expect_fail.as_deref(), ids)?;
    // The report folder, bundle and key are checked before the gateway starts (issue 21).
    let dir = s.report_dir.clone().unwrap_or_else(|| {
        crate::report::default_dir(Path::new("reports"), std::time::SystemTime::now())
    });
    let staged = bearing_report::prepare_run(Some(&dir), &s.evidence)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Mark>();
    let mut opts = CertifyOptions::new(config, plan);
    opts.duration = s.duration;
    opts.progress = Some(tx);
    let run = Certification::start(opts)
        .await
        .map_err(CertifyRunError::Start)?;
    let stop = stop();
    lines(crate::banner_lines(&run), true);
    let printer = tokio::spawn(async move {
        let mut marks = crate::MarkLines::default();
        while let Some(m) = rx.recv().await {
            lines(marks.push(&m), false);
        }
    });
    let recording = run.run(stop).await;
    let _ = printer.await;
    let mut summary = CertifySummary::from_recording(&recording);
    if let Some(l) = &expect {
        summary.apply_expected(l, &bearing_report::expect::today());
    }
    // Results are printed whatever happens to the files (issue 21: nothing lost).
    let done = bearing_report::finish_run(staged, |p| {
        crate::report::write_all(&summary, &recording.events, p).map(|_| ())
    });
    let (manifest, error) = (done.manifest, done.error);
    let error = error.map(|e| CertifyRunError::Write(dir, e));
    let dir = done.dir;
    Ok(CertifyFinished {
        summary,
        dir,
        manifest,
        error,
    })
}
