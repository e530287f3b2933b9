//! CPU hogs: busy child processes (`yes > /dev/null`) that keep every core
//! occupied while a scenario runs, so each run of the suite proves that
//! its verdicts hang on events, not on how fast the machine is. Their
//! number comes from `CHAOS_CPU_HOGS` (default 2, one per core of the
//! reference machine; 0 runs unloaded). They are killed when the guard is
//! dropped, also when the scenario panics, and by the kernel if the test
//! process dies first (`PR_SET_PDEATHSIG`).

use std::process::{Child, Stdio};

const DEFAULT_HOGS: usize = 2;

pub struct CpuHogs {
    children: Vec<Child>,
}

impl CpuHogs {
    /// `CHAOS_CPU_HOGS` hogs (default 2).
    pub fn from_env() -> CpuHogs {
        let n = std::env::var("CHAOS_CPU_HOGS")
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(DEFAULT_HOGS);
        CpuHogs::start(n)
    }

    pub fn start(n: usize) -> CpuHogs {
        let children = (0..n)
            .map(|_| {
                let mut command = devstack::moto::dying_with_parent("yes");
                command
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                command.spawn().expect("starting a CPU hog (`yes`)")
            })
            .collect();
        CpuHogs { children }
    }

    pub fn count(&self) -> usize {
        self.children.len()
    }
}

impl Drop for CpuHogs {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
