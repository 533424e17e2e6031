//! A Deployment served by Tomcat (stand-in image) becomes Available, answers HTTP 200 on its
//! host port, is replaced when its pod is deleted, and rolls to a new revision.

mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use support::Env;

const ROLLOUT: Duration = Duration::from_secs(120);
const IMAGE_BUILD: Duration = Duration::from_secs(900);

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn manifest(port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  server.xml: |
    <?xml version="1.0" encoding="UTF-8"?>
    <Server port="-1" shutdown="SHUTDOWN">
      <Service name="Catalina">
        <Connector port="{port}" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
        <Engine name="Catalina" defaultHost="localhost">
          <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
        </Engine>
      </Service>
    </Server>
  index.html: "<h1>served by the embedded kubelet</h1>"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: tomcat
        image: tomcat:10.1-jdk17
        ports:
        - containerPort: {port}
        readinessProbe:
          httpGet: {{path: /, port: {port}}}
          periodSeconds: 1
        volumeMounts:
        - {{name: web, mountPath: /usr/local/tomcat/conf/server.xml, subPath: server.xml}}
        - {{name: root, mountPath: /usr/local/tomcat/webapps/ROOT}}
      volumes:
      - name: web
        configMap: {{name: web}}
      - name: root
        configMap:
          name: web
          items: [{{key: index.html, path: index.html}}]
"#
    )
}

async fn get(port: u16) -> Option<(u16, String)> {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

async fn ready_pods(env: &Env) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(env.client.clone(), "default");
    api.list(&ListParams::default().labels("app=web"))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .collect()
}

/// Waits until exactly one Ready pod other than `not` serves the page; returns its uid.
async fn serving_pod(env: &Env, port: u16, not: Option<&str>, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let pods = ready_pods(env).await;
        if let [pod] = pods.as_slice()
            && pod.metadata.uid.as_deref() != not
            && let Some((200, body)) = get(port).await
        {
            assert!(body.contains("served by the embedded kubelet"), "{body}");
            return pod.metadata.uid.clone().unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "no new Ready pod serving port {port} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_serves_recovers_and_rolls() {
    let Some(env) = Env::start("deployment_serves_recovers_and_rolls").await else {
        return;
    };
    let port = free_port();
    env.apply(&manifest(port));
    let out = env.kubectl(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        &format!("--timeout={}s", IMAGE_BUILD.as_secs()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = serving_pod(&env, port, None, ROLLOUT).await;

    // Deleting the pod: the ReplicaSet makes a new one, which waits for the port, then serves.
    env.kubectl_ok(&["delete", "pod", "-l", "app=web", "--wait=false"]);
    let second = serving_pod(&env, port, Some(&first), ROLLOUT).await;

    // A new revision takes the host port over from the old one.
    env.kubectl_ok(&["set", "env", "deployment/web", "REVISION=2"]);
    let out = env.kubectl(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let third = serving_pod(&env, port, Some(&second), ROLLOUT).await;
    let revision_env = env.kubectl_ok(&["exec", "deploy/web", "--", "printenv", "REVISION"]);
    assert_eq!(revision_env.trim(), "2");
    assert_ne!(third, first);

    env.kubectl_ok(&["delete", "deployment", "web"]);
    env.finish().await;
}
