//! A loopback HTTP server with fixed answers per path, for img2img inputs,
//! redirects and oversized bodies.

use std::sync::Arc;

use crate::loopback::{self, Loopback};

pub struct FileServer {
    pub base: String,
    _server: Loopback,
}

/// `(path, status, headers, body)`.
pub type Route = (&'static str, u16, Vec<(&'static str, String)>, Vec<u8>);

impl FileServer {
    pub async fn start(routes: Vec<Route>) -> FileServer {
        let routes = Arc::new(routes);
        let server = Loopback::http(move |req| {
            let found = routes.iter().find(|r| r.0 == req.uri().path()).cloned();
            async move {
                let Some((_, status, headers, body)) = found else {
                    return loopback::respond(404, Vec::new());
                };
                let mut resp = loopback::respond(status, body);
                for (name, value) in headers {
                    resp.headers_mut()
                        .insert(name, value.parse().expect("a header value"));
                }
                resp
            }
        })
        .await
        .expect("a free port");
        FileServer {
            base: server.base_url(),
            _server: server,
        }
    }
}
