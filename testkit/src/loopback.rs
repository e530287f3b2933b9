//! The one loopback server behind every test double (fake Gemini, file
//! server, webhook receiver, trap) and the benchmarks' stand-ins: a port of
//! 127.0.0.1, an accept loop, and the task stopped when the value is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// What a test double answers: a whole body in memory.
pub type Response = hyper::Response<Full<Bytes>>;

/// A running loopback server; it stops accepting when dropped.
pub struct Loopback {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Loopback {
    /// Serves HTTP/1 on a free port, each request answered by `handler`.
    pub async fn http<H, F>(handler: H) -> std::io::Result<Loopback>
    where
        H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        Self::http_on(0, handler).await
    }

    /// `http` on a given port (one told to another process beforehand); 0
    /// takes a free one.
    pub async fn http_on<H, F>(port: u16, handler: H) -> std::io::Result<Loopback>
    where
        H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        Self::accepting(port, move |stream| {
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let answer = handler(req);
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        })
        .await
    }

    /// Accepts connections on `port` (0: a free one) and hands each to
    /// `on_connection`, which may serve or drop it.
    pub async fn accepting(
        port: u16,
        mut on_connection: impl FnMut(TcpStream) + Send + 'static,
    ) -> std::io::Result<Loopback> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    on_connection(stream);
                }
            }
        });
        Ok(Loopback { addr, task })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A response with this status and body, and no headers.
pub fn respond(status: u16, body: impl Into<Bytes>) -> Response {
    let mut resp = hyper::Response::new(Full::new(body.into()));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

/// A request's whole body (empty if the client broke off).
pub async fn body_of(req: hyper::Request<Incoming>) -> Bytes {
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}
