//! A loopback port nothing may connect to. Worker cases aim their forbidden
//! targets at it in disguise (`0.0.0.0:<port>`, a name resolving to
//! loopback), so a guard that let one through is caught by the connection,
//! not only by the job's error message.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Trap {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Trap {
    pub async fn start() -> Trap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while listener.accept().await.is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Trap {
            port,
            connections,
            task,
        }
    }

    /// Connections accepted so far (each dropped at once).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
