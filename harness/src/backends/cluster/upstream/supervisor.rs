//! The cluster's processes: each started in a process group of its own with its output in a log
//! file, stopped with SIGTERM and, after a grace period, SIGKILL; killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A started component.
struct Component {
    name: &'static str,
    child: tokio::process::Child,
    log: PathBuf,
}

/// The processes of one cluster, in start order.
pub(crate) struct Supervisor {
    logs: PathBuf,
    components: Vec<Component>,
}

impl Supervisor {
    pub(crate) fn new(logs: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(logs)?;
        Ok(Supervisor {
            logs: logs.to_owned(),
            components: vec![],
        })
    }

    /// Starts `program args…` as component `name`, its output in `<logs>/<name>.log`.
    pub(crate) fn start(
        &mut self,
        name: &'static str,
        program: &Path,
        args: &[String],
    ) -> std::io::Result<()> {
        let log = self.logs.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        tracing::debug!(component = name, program = %program.display(), ?args, "starting");
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", program.display())))?;
        self.components.push(Component { name, child, log });
        Ok(())
    }

    /// The last lines of a component's log, and whether it has exited.
    pub(crate) fn report(&mut self, name: &str) -> String {
        let Some(component) = self.components.iter_mut().find(|c| c.name == name) else {
            return format!("{name} was not started");
        };
        let exited = match component.child.try_wait() {
            Ok(Some(status)) => format!("{name} exited ({status}); "),
            _ => String::new(),
        };
        let log = std::fs::read_to_string(&component.log).unwrap_or_default();
        format!(
            "{exited}the end of {}:\n{}",
            component.log.display(),
            crate::process::tail(&log, 12)
        )
    }

    /// Whether `name` is still running.
    pub(crate) fn running(&mut self, name: &str) -> bool {
        self.components
            .iter_mut()
            .find(|c| c.name == name)
            .is_some_and(|c| matches!(c.child.try_wait(), Ok(None)))
    }

    /// Stops `name`: SIGTERM to its process group, SIGKILL after `grace`.
    pub(crate) async fn stop(&mut self, name: &str, grace: Duration) {
        let Some(index) = self.components.iter().position(|c| c.name == name) else {
            return;
        };
        let mut component = self.components.remove(index);
        let started = Instant::now();
        if let Some(pid) = component.child.id() {
            signal_group(pid, "TERM");
            let deadline = started + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = component.child.try_wait() {
                    tracing::debug!(name, seconds = started.elapsed().as_secs_f64(), "stopped");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tracing::debug!(name, ?grace, "still running after the grace period; killed");
            signal_group(pid, "KILL");
        }
        let _ = component.child.wait().await;
    }

    /// Names of the components still running, newest first.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.components.iter().rev().map(|c| c.name).collect()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        for component in self.components.iter_mut().rev() {
            if let Some(pid) = component.child.id() {
                signal_group(pid, "KILL");
            }
        }
    }
}

/// Sends `signal` to the process group led by `pid`.
fn signal_group(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
