//! A loopback port nothing may connect to. Worker cases aim their forbidden
//! targets at it in disguise (`0.0.0.0:<port>`, a name resolving to
//! loopback), so a guard that let one through is caught by the connection,
//! not only by the job's error message.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use testkit::Loopback;

pub struct Trap {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    _listener: Loopback,
}

impl Trap {
    pub async fn start() -> Trap {
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let listener = Loopback::accepting(0, move |_dropped| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .expect("a free port");
        Trap {
            port: listener.port(),
            connections,
            _listener: listener,
        }
    }

    /// Connections accepted so far (each dropped at once).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
