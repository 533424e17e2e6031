//! A second Ctrl-C ends `harness up` at once (exit code 130), also while its teardown waits for
//! something that does not end — here a GitLab request whose body never comes, which the GitLab's
//! graceful stop waits for.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const SCENARIO: &str = "name: interrupt\nenvironment:\n  gitlab:\n    project: demo/interrupt\nsteps:\n  - kubectl: create namespace interrupt\n";

#[test]
fn a_second_ctrl_c_exits_at_once_while_the_teardown_waits() {
    let engine = harness_images::engine_unavailable;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if !harness_test_support::can_run(runtime.block_on(engine())) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("interrupt.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let mut up = Up::start(&scenario);

    // A request whose body never comes: the GitLab's graceful stop waits for it.
    let mut held = TcpStream::connect(&up.gitlab).unwrap();
    held.write_all(
        b"POST /api/v4/runners HTTP/1.1\r\nHost: gitlab\r\nContent-Type: application/json\r\n\
          Content-Length: 1000\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    interrupt(&up.child);
    up.stderr_until("stopping the environment");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        up.child.try_wait().unwrap().is_none(),
        "the teardown did not wait for the held request; this test needs it to"
    );

    interrupt(&up.child);
    let second = Instant::now();
    let status = loop {
        if let Some(status) = up.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            second.elapsed() < Duration::from_secs(5),
            "harness up is still tearing down 5 s after the second Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status}");
    up.stderr_until("interrupted again");
}

/// `harness up` started on a scenario, its stderr read on a thread, and cleaned up after.
struct Up {
    child: Child,
    stderr: Receiver<String>,
    env_id: String,
    /// `host:port` of its GitLab.
    gitlab: String,
}

impl Up {
    fn start(scenario: &std::path::Path) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .arg("up")
            .arg(scenario)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("harness up starts");
        let (tx, stderr) = channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut env_id, mut gitlab) = (None, None);
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Environment ") {
                env_id = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(url) = line.trim().strip_prefix("GitLab ") {
                let url = url.trim().trim_start_matches("http://");
                gitlab = url.split('/').next().map(str::to_owned);
            }
            if line.contains("Press Ctrl-C") {
                break;
            }
        }
        let mut up = Up {
            child,
            stderr,
            env_id: env_id.unwrap_or_default(),
            gitlab: gitlab.unwrap_or_default(),
        };
        assert!(
            !up.env_id.is_empty() && !up.gitlab.is_empty(),
            "harness up did not come up: {}",
            up.stderr_so_far()
        );
        up
    }

    /// Waits (up to 60 s) for a line of stderr containing `text`.
    fn stderr_until(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = vec![];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!(
            "harness up never printed {text:?}; it printed:\n{}",
            seen.join("\n")
        );
    }

    fn stderr_so_far(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Up {
    /// What an interrupted teardown leaves, `harness down` removes.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.env_id.is_empty() {
            let _ = Command::new(env!("CARGO_BIN_EXE_harness"))
                .args(["down", "--env", &self.env_id])
                .output();
        }
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
