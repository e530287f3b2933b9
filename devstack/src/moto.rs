//! Starting and stopping the moto server that emulates DynamoDB, SQS and S3.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A running moto server; killed when dropped, and also by the kernel if
/// this process dies first (`PR_SET_PDEATHSIG`, see `dying_with_parent`),
/// so no test leaves one behind.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "could not start moto ({0}); install it with: pip install 'moto[server]' (and util-linux for setpriv)"
    )]
    Spawn(std::io::Error),
    #[error("moto did not answer on {0} within {secs} s", secs = READY_PATIENCE.as_secs())]
    NotReady(String),
    #[error("moto exited at start ({0}); is `moto[server]` installed?")]
    Exited(std::process::ExitStatus),
}

/// How long a starting moto may take to listen: its Python imports take a
/// few seconds on an idle machine and many more on a loaded one, and the
/// wait ends as soon as it listens.
const READY_PATIENCE: Duration = Duration::from_secs(120);

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
        let mut cmd = Command::from(dying_with_parent(python));
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
        let mut child = cmd.spawn().map_err(MotoError::Spawn)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + READY_PATIENCE;
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

/// One moto server for the whole test process, started on first use. A
/// thread that lives as long as the process owns it, so the kernel kills
/// moto when the process exits (`PR_SET_PDEATHSIG` fires when the spawning
/// thread dies), however the process exits.
pub fn process_wide_endpoint() -> String {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for moto");
                rt.block_on(async move {
                    let started = match free_port() {
                        Ok(port) => Moto::start(port).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match started {
                        Ok(moto) => {
                            let _ = tx.send(Ok(moto.endpoint.clone()));
                            std::future::pending::<()>().await;
                            drop(moto);
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            });
            rx.recv()
                .expect("the moto thread answers")
                .expect("moto starts")
        })
        .clone()
}

/// A command for `program` that dies with this process, even if this
/// process is killed before it can stop the child: util-linux's `setpriv`
/// sets `PR_SET_PDEATHSIG` (SIGKILL) on itself and then execs `program`, so
/// the child keeps setpriv's pid and the setting. The signal comes when the
/// thread that spawned the child ends, so spawn from a thread that outlives
/// the child.
pub fn dying_with_parent(program: impl AsRef<OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new("setpriv");
    command.args(["--pdeathsig", "KILL", "--"]).arg(program);
    command
}
