//! A webhook receiver on loopback: answers with scripted statuses (then
//! 200), or holds every request for a while (a hanging endpoint), and
//! records every request with when it arrived.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::loopback::{self, Loopback};

pub struct Receiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    hold: Arc<Mutex<Option<Duration>>>,
    _server: Loopback,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: hyper::HeaderMap,
    pub body: String,
    pub at: std::time::SystemTime,
}

impl Receiver {
    pub async fn start(statuses: impl IntoIterator<Item = u16>) -> Receiver {
        let requests: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(Mutex::new(statuses.into_iter().collect::<VecDeque<u16>>()));
        let hold: Arc<Mutex<Option<Duration>>> = Arc::default();
        let (reqs, scr, held) = (requests.clone(), script.clone(), hold.clone());
        let server = Loopback::http(move |req: hyper::Request<hyper::body::Incoming>| {
            let (reqs, scr, held) = (reqs.clone(), scr.clone(), held.clone());
            async move {
                let headers = req.headers().clone();
                let body = loopback::body_of(req).await;
                reqs.lock().expect("the receiver's lock").push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    at: std::time::SystemTime::now(),
                });
                let hold = *held.lock().expect("the receiver's lock");
                if let Some(hold) = hold {
                    tokio::time::sleep(hold).await;
                }
                let status = scr
                    .lock()
                    .expect("the receiver's lock")
                    .pop_front()
                    .unwrap_or(200);
                loopback::respond(status, Vec::new())
            }
        })
        .await
        .expect("a free port");
        Receiver {
            url: format!("{}/hooks", server.base_url()),
            requests,
            script,
            hold,
            _server: server,
        }
    }

    /// Answers every further request with `status`.
    pub fn always(&self, status: u16) {
        let mut s = self.script.lock().expect("the receiver's lock");
        s.clear();
        s.extend(std::iter::repeat_n(status, 10_000));
    }

    /// Holds every further request this long before answering: an
    /// endpoint that hangs past the sender's timeout.
    pub fn hang(&self, hold: Duration) {
        *self.hold.lock().expect("the receiver's lock") = Some(hold);
    }

    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().expect("the receiver's lock").clone()
    }

    /// Waits until at least `n` requests arrived (a generous 120 s at most:
    /// the bound only matters when something is broken).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} webhook requests arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
