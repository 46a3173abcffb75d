//! What the accept loop hands each request about its connection, as request extensions: a
//! control to reset the connection (fault injection) and the peer's address. Kept apart from
//! the server so handlers and the observer need not import the accept loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Per-connection control handed to handlers as a request extension: lets a fault reset the
/// connection this request came on.
#[derive(Debug, Clone, Default)]
pub struct ConnControl {
    pub(crate) reset: Arc<AtomicBool>,
}

impl ConnControl {
    /// Asks the server to reset (TCP RST) this connection instead of answering.
    pub fn request_reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
    }
}

/// The peer's address, as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);
