//! Running the real `kubectl` against an environment, with its own kubeconfig and cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use super::command::CommandOutput;

/// A kubectl bound to one cluster.
#[derive(Debug, Clone)]
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache_dir: PathBuf,
    workdir: PathBuf,
}

impl Kubectl {
    /// kubectl with `kubeconfig`, a discovery cache under `cache_dir`, running in `workdir`
    /// (relative manifest paths resolve there).
    pub fn new(kubeconfig: &Path, cache_dir: &Path, workdir: &Path) -> Self {
        Self {
            binary: PathBuf::from("kubectl"),
            kubeconfig: kubeconfig.to_owned(),
            cache_dir: cache_dir.to_owned(),
            workdir: workdir.to_owned(),
        }
    }

    /// This kubectl binary instead of `kubectl` from PATH (the one that matches the cluster).
    pub fn with_binary(mut self, binary: Option<PathBuf>) -> Self {
        if let Some(binary) = binary {
            self.binary = binary;
        }
        self
    }

    /// The binary it runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The same kubectl running in another directory.
    pub fn in_dir(&self, workdir: &Path) -> Self {
        Self {
            workdir: workdir.to_owned(),
            ..self.clone()
        }
    }

    /// Runs `kubectl args…` within `timeout`.
    pub async fn run(&self, args: &[String], timeout: Duration) -> CommandOutput {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(args)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .env("KUBECONFIG", &self.kubeconfig)
            .current_dir(&self.workdir);
        super::command::run(command, format!("kubectl {}", args.join(" ")), timeout).await
    }
}

/// A running `kubectl port-forward`; stops when dropped.
pub struct PortForward {
    _child: tokio::process::Child,
    /// The local port forwarded to the pod's.
    pub local_port: u16,
}

impl Kubectl {
    /// `kubectl port-forward -n NAMESPACE TARGET :PORT`, once it says where it listens.
    pub async fn port_forward(
        &self,
        namespace: &str,
        target: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<PortForward, String> {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(&self.binary)
            .args(["port-forward", "-n", namespace, target])
            .arg(format!(":{port}"))
            .arg("--address=127.0.0.1")
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run kubectl: {e}"))?;
        let stdout = child.stdout.take().ok_or("kubectl has no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let found = tokio::time::timeout(timeout, async {
            while let Ok(Some(line)) = lines.next_line().await {
                // "Forwarding from 127.0.0.1:41234 -> 8080"
                if let Some(port) = line
                    .strip_prefix("Forwarding from 127.0.0.1:")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|p| p.parse::<u16>().ok())
                {
                    return Some(port);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(local_port)) => {
                // kubectl reports each connection on stdout: keep reading, or it dies of SIGPIPE.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok(PortForward {
                    _child: child,
                    local_port,
                })
            }
            _ => {
                let _ = child.start_kill();
                let output = child.wait_with_output().await.ok();
                let stderr = output
                    .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
                    .unwrap_or_default();
                Err(format!(
                    "kubectl port-forward {target} :{port} failed: {stderr}"
                ))
            }
        }
    }
}

/// Splits a command line into words, honouring single and double quotes.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in `{text}`"));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words("get po -o 'jsonpath={.items[*].metadata.name}' -n \"a b\"").unwrap(),
            vec![
                "get",
                "po",
                "-o",
                "jsonpath={.items[*].metadata.name}",
                "-n",
                "a b"
            ]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words("get 'x").is_err());
    }
}
