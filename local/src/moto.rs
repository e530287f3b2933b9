//! Starting and stopping the moto server that emulates DynamoDB, SQS and S3.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A running moto server; killed when dropped, and also by the kernel if
/// this process dies first (`PR_SET_PDEATHSIG`), so no test leaves one behind.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("could not start moto ({0}); install it with: pip install 'moto[server]'")]
    Spawn(std::io::Error),
    #[error("moto did not answer on {0} within 30 s")]
    NotReady(String),
    #[error("moto exited at start ({0}); is `moto[server]` installed?")]
    Exited(std::process::ExitStatus),
}

/// A port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_server.py")
}

impl Moto {
    pub async fn start(port: u16) -> Result<Moto, MotoError> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mut cmd = Command::new(python);
        cmd.arg(launcher())
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("MOTO_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(MotoError::Spawn)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().map_err(MotoError::Spawn)? {
                return Err(MotoError::Exited(status));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Moto { child, endpoint });
            }
            if Instant::now() > deadline {
                return Err(MotoError::NotReady(endpoint));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
