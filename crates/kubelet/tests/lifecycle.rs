//! Pod lifecycle details: init containers, env sources, volumes, restarts, deadline, probes.

mod support;

use std::time::Duration;

use support::{Env, finished, ready, restarts, running, waiting_reason};

const MINUTE: Duration = Duration::from_secs(60);
const IMAGE_BUILD: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_containers_env_sources_and_volumes() {
    let Some(env) = Env::start("init_containers_env_sources_and_volumes").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello
  app.conf: "mode=test"
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: wired
  labels:
    app: wired
spec:
  restartPolicy: Never
  initContainers:
  - name: first
    image: ubuntu:16.04
    command: ["sh", "-c", "echo one > /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: second
    image: ubuntu:16.04
    command: ["sh", "-c", "echo two >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: ubuntu:16.04
    workingDir: /work
    command: ["sh", "-c"]
    args:
    - >-
      cat order; echo "$GREETING $PASSWORD $POD_NAME $NODE $MESSAGE";
      cat /etc/config/app.conf; echo; cat /etc/podinfo/labels; echo; pwd;
      touch /etc/config/x 2>/dev/null || echo read-only;
      test -s /var/run/projected/tok && cat /var/run/projected/ns
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: MESSAGE
      value: "$(GREETING)-world"
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: config, mountPath: /etc/config}
    - {name: podinfo, mountPath: /etc/podinfo}
    - {name: projected, mountPath: /var/run/projected}
  volumes:
  - name: projected
    projected:
      sources:
      - serviceAccountToken: {path: tok, expirationSeconds: 3600}
      - downwardAPI:
          items:
          - path: ns
            fieldRef: {fieldPath: metadata.namespace}
  - name: work
    emptyDir: {}
  - name: config
    configMap: {name: settings}
  - name: podinfo
    downwardAPI:
      items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}
"#,
    );
    let pod = env
        .wait_pod("default", "wired", IMAGE_BUILD, finished)
        .await;
    let logs = env.kubectl_ok(&["logs", "wired"]);
    assert_eq!(support::phase(&pod), "Succeeded", "logs: {logs}");
    assert_eq!(
        logs,
        format!(
            "one\ntwo\nhello s3cret wired {} hello-world\nmode=test\napp=\"wired\"\n/work\nread-only\ndefault",
            support::NODE
        )
    );
    let init_reasons = env.jsonpath(
        &["pod", "wired"],
        "{.status.initContainerStatuses[*].state.terminated.reason}",
    );
    assert_eq!(init_reasons, "Completed Completed");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_back_off_and_keep_the_previous_logs() {
    let Some(env) = Env::start("restarts_back_off_and_keep_the_previous_logs").await else {
        return;
    };
    env.run_ubuntu("crasher", "Always", &["sh", "-c", "date +%s%N; exit 1"]);
    let pod = env
        .wait_pod("default", "crasher", IMAGE_BUILD, |p| restarts(p) >= 2)
        .await;
    assert_eq!(support::phase(&pod), "Running");
    let previous = env.kubectl_ok(&["logs", "crasher", "--previous"]);
    assert!(!previous.trim().is_empty(), "no previous logs");
    let waiting = env
        .wait_pod("default", "crasher", MINUTE, |p| {
            waiting_reason(p) == Some("CrashLoopBackOff")
        })
        .await;
    let last = waiting.status.unwrap().container_statuses.unwrap()[0]
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 1);
    // Only the current and the previous instance are kept.
    let instances = env.pod_containers("crasher").await.len();
    assert!(instances <= 2, "{instances} instances kept");
    env.kubectl_ok(&["delete", "pod", "crasher", "--grace-period=1"]);
    env.wait_pod_gone("default", "crasher", MINUTE).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_and_probes() {
    let Some(env) = Env::start("deadline_and_probes").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: bounded
spec:
  restartPolicy: Never
  activeDeadlineSeconds: 2
  containers:
  - name: main
    image: ubuntu:16.04
    command: ["sleep", "300"]
---
apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  restartPolicy: Always
  containers:
  - name: main
    image: ubuntu:16.04
    command: ["sh", "-c", "touch /tmp/ready; sleep 300"]
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
    livenessProbe:
      exec: {command: ["test", "-f", "/tmp/alive"]}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
"#,
    );
    let bounded = env
        .wait_pod("default", "bounded", IMAGE_BUILD, finished)
        .await;
    let status = bounded.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    assert_eq!(status.reason.as_deref(), Some("DeadlineExceeded"));

    // Ready once the readiness probe passes; restarted because the liveness probe fails.
    env.wait_pod("default", "probed", MINUTE, |p| running(p) && ready(p))
        .await;
    env.wait_pod("default", "probed", MINUTE, |p| restarts(p) >= 1)
        .await;
    env.wait_events("default", "probed", &["Unhealthy", "Killing"])
        .await;
    env.kubectl_ok(&["delete", "pod", "bounded", "probed", "--grace-period=1"]);
    env.wait_pod_gone("default", "probed", MINUTE).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limits_end_in_oom_killed() {
    let Some(env) = Env::start("memory_limits_end_in_oom_killed").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: hungry
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: ubuntu:16.04
    command: ["awk", "BEGIN { while (1) s = s sprintf(\"%10000s\", \"x\") }"]
    resources:
      limits: {memory: 32Mi}
"#,
    );
    env.wait_pod("default", "hungry", IMAGE_BUILD, finished)
        .await;
    let terminated = env.jsonpath(
        &["pod", "hungry"],
        "{.status.containerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].state.terminated.exitCode}",
    );
    assert_eq!(terminated, "OOMKilled 137");
    env.kubectl_ok(&["delete", "pod", "hungry"]);
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_context_user_group_and_privileged() {
    let Some(env) = Env::start("security_context_user_group_and_privileged").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: secured
spec:
  restartPolicy: Never
  securityContext:
    runAsUser: 1234
    runAsGroup: 5678
    supplementalGroups: [4000]
  containers:
  - name: user
    image: ubuntu:16.04
    command: ["sh", "-c", "id -u; id -g; id -G"]
  - name: privileged
    image: ubuntu:16.04
    command: ["sh", "-c", "grep CapEff /proc/self/status"]
    securityContext:
      runAsUser: 0
      privileged: true
"#,
    );
    let pod = env
        .wait_pod("default", "secured", IMAGE_BUILD, finished)
        .await;
    assert_eq!(support::phase(&pod), "Succeeded");
    let ids = env.kubectl_ok(&["logs", "secured", "-c", "user"]);
    let lines: Vec<&str> = ids.lines().collect();
    assert_eq!(&lines[..2], ["1234", "5678"], "{ids}");
    assert!(lines[2].split_whitespace().any(|g| g == "4000"), "{ids}");
    let caps = env.kubectl_ok(&["logs", "secured", "-c", "privileged"]);
    let mask = u64::from_str_radix(caps.trim().trim_start_matches("CapEff:").trim(), 16)
        .expect("capability mask");
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    const CAP_NET_ADMIN: u64 = 1 << 12;
    assert_eq!(
        mask & (CAP_SYS_ADMIN | CAP_NET_ADMIN),
        CAP_SYS_ADMIN | CAP_NET_ADMIN,
        "{caps}"
    );
    env.kubectl_ok(&["delete", "pod", "secured"]);
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_hooks_run_and_a_long_grace_period_does_not_hold_the_stop() {
    let Some(env) = Env::start("lifecycle_hooks").await else {
        return;
    };
    env.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: hooked
spec:
  terminationGracePeriodSeconds: 3600
  volumes:
  - name: hooks
    hostPath: {path: /hooks, type: DirectoryOrCreate}
  containers:
  - name: main
    image: ubuntu:16.04
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{name: hooks, mountPath: /hooks}]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo started > /hooks/post-start"]}
      preStop:
        exec: {command: ["sh", "-c", "echo stopping > /hooks/pre-stop"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-hook
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ubuntu:16.04
    command: ["sleep", "300"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo no >&2; exit 3"]}
"#,
    );
    env.wait_pod("default", "hooked", IMAGE_BUILD, running)
        .await;
    let hooks = env.dir.path().join("kubelet/node-fs/hooks");
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-start")).unwrap(),
        "started\n"
    );
    // The chart's hour-long grace period: the preStop hook runs, then the container exits on
    // SIGTERM and the pod is gone at once.
    let started = std::time::Instant::now();
    env.kubectl_ok(&["delete", "pod", "hooked", "--wait=false"]);
    env.wait_pod_gone("default", "hooked", MINUTE).await;
    assert!(started.elapsed() < MINUTE, "{:?}", started.elapsed());
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-stop")).unwrap(),
        "stopping\n"
    );
    // A failing postStart hook: the event says why and the container is restarted.
    env.wait_events("default", "bad-hook", &["FailedPostStartHook"])
        .await;
    let message = env.kubectl_ok(&[
        "get",
        "events",
        "-o",
        "jsonpath={range .items[?(@.reason==\"FailedPostStartHook\")]}{.message}{end}",
    ]);
    assert!(
        message.contains("PostStartHook failed: command exited with 3: no"),
        "{message}"
    );
    env.wait_pod("default", "bad-hook", MINUTE, |p| restarts(p) >= 1)
        .await;
    env.kubectl_ok(&["delete", "pod", "bad-hook", "--grace-period=1"]);
    env.wait_pod_gone("default", "bad-hook", MINUTE).await;
    env.finish().await;
}
