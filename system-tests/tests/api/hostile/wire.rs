//! HTTP/1.1 spoken by hand over a `TcpStream`, so the bytes of a hostile
//! request reach the server exactly as written: reqwest would refuse
//! invalid header bytes and normalise `../` out of paths before sending.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request to put on the wire: every byte is the caller's choice.
pub struct RawRequest {
    pub method: String,
    pub target: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Names lowercased; values as text (lossy).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A hang guard, not a timing assertion: no request in the corpus needs
/// more than a fraction of this.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// Sends one request on a fresh connection (`Connection: close`) to
/// `addr` (`host:port`) and reads the whole answer.
pub async fn exchange(addr: &str, request: &RawRequest) -> Result<RawResponse, String> {
    tokio::time::timeout(ANSWER_WITHIN, exchange_unguarded(addr, request))
        .await
        .map_err(|_| format!("no answer within {ANSWER_WITHIN:?}"))?
}

async fn exchange_unguarded(addr: &str, request: &RawRequest) -> Result<RawResponse, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    // A server that refuses early may close before reading everything;
    // its answer is still there to read, so a failed write is not final.
    let write_error = stream
        .write_all(&serialize(addr, request))
        .await
        .err()
        .map(|e| e.to_string());
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer).await;
    if answer.is_empty() {
        return Err(format!(
            "no answer (write: {}, read: {:?})",
            write_error.as_deref().unwrap_or("ok"),
            read.err()
        ));
    }
    parse(&answer)
}

fn serialize(addr: &str, request: &RawRequest) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(request.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(&request.target);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(format!("host: {addr}\r\nconnection: close\r\n").as_bytes());
    for (name, value) in &request.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(body) = &request.body {
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Status line, headers and a `Content-Length` body (the local server and
/// hyper's own error answers always send one).
fn parse(answer: &[u8]) -> Result<RawResponse, String> {
    let lossy = || {
        String::from_utf8_lossy(answer)
            .chars()
            .take(300)
            .collect::<String>()
    };
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("an answer without a header end: {:?}", lossy()))?;
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("an answer without a status line: {:?}", lossy()))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = answer[head_end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}
