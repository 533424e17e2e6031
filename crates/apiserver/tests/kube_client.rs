//! The `kube` crate against the embedded server: typed CRUD, watchers, discovery (legacy and
//! aggregated), a runtime Controller, ServiceAccount tokens and client certificates.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PartialObjectMeta, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use support::{TestCluster, eventually};

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "demo"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "1"]}]}})).unwrap()
}

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_crud_and_errors() {
    let c = TestCluster::start().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "demo").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let created = pods
        .create(&PostParams::default(), &pod("p1"))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert_eq!(
        created.metadata.generation, None,
        "1.32 pods carry no generation"
    );
    assert_eq!(
        created.spec.as_ref().unwrap().restart_policy.as_deref(),
        Some("Always")
    );
    let err = pods
        .create(&PostParams::default(), &pod("p1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );

    let patched = pods
        .patch(
            "p1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "x"}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.unwrap()["tier"], "x");
    let mut fetched = pods.get("p1").await.unwrap();
    fetched.metadata.annotations = Some([("a".to_string(), "b".to_string())].into());
    let replaced = pods
        .replace("p1", &PostParams::default(), &fetched)
        .await
        .unwrap();
    assert_ne!(
        replaced.metadata.resource_version,
        fetched.metadata.resource_version
    );
    // A stale resourceVersion conflicts.
    let err = pods
        .replace("p1", &PostParams::default(), &fetched)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );

    for i in 0..5 {
        pods.create(&PostParams::default(), &pod(&format!("q{i}")))
            .await
            .unwrap();
    }
    let page = pods.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().unwrap();
    let rest = pods
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 4);
    let selected = pods
        .list(&ListParams::default().labels("tier=x"))
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);

    pods.delete("p1", &DeleteParams::default()).await.unwrap();
    let err = pods.get("p1").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.message == "pods \"p1\" not found"),
        "{err:?}"
    );
    let other: Api<Pod> = Api::namespaced(client.clone(), "missing");
    let err = other
        .create(&PostParams::default(), &pod("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.message == "namespaces \"missing\" not found"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sees_add_modify_delete() {
    let c = TestCluster::start().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "demo").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let w = pods.clone();
    let task = tokio::spawn(async move {
        let mut s = watcher(w, watcher::Config::default()).boxed();
        while let Some(Ok(ev)) = s.next().await {
            let label = match ev {
                watcher::Event::Apply(p) => format!(
                    "apply {} {}",
                    p.metadata.name.unwrap_or_default(),
                    p.metadata
                        .labels
                        .unwrap_or_default()
                        .get("v")
                        .cloned()
                        .unwrap_or_default()
                ),
                watcher::Event::Delete(p) => {
                    format!("delete {}", p.metadata.name.unwrap_or_default())
                }
                watcher::Event::InitDone => "init".into(),
                _ => continue,
            };
            if tx.send(label).is_err() {
                return;
            }
        }
    });
    assert_eq!(rx.recv().await.unwrap(), "init");
    pods.create(&PostParams::default(), &pod("w"))
        .await
        .unwrap();
    pods.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"v": "2"}}})),
    )
    .await
    .unwrap();
    pods.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|s: &String| s.starts_with("delete")) {
        let next = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("watch event")
            .unwrap();
        seen.push(next);
    }
    assert!(seen.contains(&"apply w ".to_string()), "{seen:?}");
    assert!(seen.contains(&"apply w 2".to_string()), "{seen:?}");
    assert_eq!(seen.last().unwrap(), "delete w");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_list_get_and_watch() {
    let c = TestCluster::start().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "meta").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "meta");
    for name in ["m1", "m2", "m3"] {
        pods.create(&PostParams::default(), &pod(name))
            .await
            .unwrap();
    }
    let list = pods
        .list_metadata(&ListParams::default().labels("app=demo").limit(2))
        .await
        .unwrap();
    assert_eq!(list.types.kind, "PartialObjectMetadataList");
    let names: Vec<_> = list
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["m1", "m2"]);
    assert!(list.metadata.continue_.is_some());
    let one = pods.get_metadata("m3").await.unwrap();
    assert_eq!(one.types.as_ref().unwrap().kind, "PartialObjectMetadata");
    assert_eq!(one.metadata.labels.unwrap()["app"], "demo");
    assert!(one.metadata.uid.is_some());

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // `Api<PartialObjectMeta<K>>` makes metadata-only requests (`as=PartialObjectMetadata`).
    let w: Api<PartialObjectMeta<Pod>> = Api::namespaced(client.clone(), "meta");
    let task = tokio::spawn(async move {
        let mut s = watcher(w, watcher::Config::default()).boxed();
        while let Some(Ok(ev)) = s.next().await {
            let label = match ev {
                watcher::Event::InitApply(p) => format!("init {}", p.metadata.name.unwrap()),
                watcher::Event::Apply(p) => format!("apply {}", p.metadata.name.unwrap()),
                watcher::Event::Delete(p) => format!("delete {}", p.metadata.name.unwrap()),
                _ => continue,
            };
            if tx.send(label).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(rx.recv().await.unwrap());
    }
    assert_eq!(seen, ["init m1", "init m2", "init m3"]);
    pods.delete("m2", &DeleteParams::default()).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("watch event")
        .unwrap();
    assert_eq!(next, "delete m2");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_both_ways() {
    let c = TestCluster::start().await;
    let client = c.handle.client().await.unwrap();
    let d = Discovery::new(client.clone()).run().await.unwrap();
    let groups: Vec<String> = d.groups().map(|g| g.name().to_string()).collect();
    for g in [
        "",
        "apps",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "authorization.k8s.io",
    ] {
        assert!(groups.iter().any(|x| x == g), "{g} missing from {groups:?}");
    }
    let (ar, caps) = d
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "apps",
            "v1",
            "Deployment",
        ))
        .unwrap();
    assert_eq!(ar.plural, "deployments");
    assert!(
        caps.subresources
            .iter()
            .any(|(s, _)| s.plural == "deployments/scale" || s.plural == "scale"),
        "{:?}",
        caps.subresources
    );
    let agg = Discovery::new(client).run_aggregated().await.unwrap();
    assert!(agg.groups().any(|g| g.name() == "apps"));
    // Every bootstrap object was created (a failure there would only be logged).
    let admin = c.handle.client().await.unwrap();
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(admin.clone());
    let names: Vec<String> = roles
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|r| r.metadata.name)
        .collect();
    for n in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:discovery",
        "system:basic-user",
        "system:public-info-viewer",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    let svc: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(admin.clone(), "default");
    let kubernetes = svc.get("kubernetes").await.unwrap();
    assert_eq!(
        kubernetes.spec.unwrap().cluster_ip.as_deref(),
        Some("10.96.0.1")
    );
    let v = admin.apiserver_version().await.unwrap();
    assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "32"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_controller_reconciles_a_deployment() {
    let c = TestCluster::start().await.with_node().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "demo").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "demo");
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})).unwrap();
    deploys.create(&PostParams::default(), &d).await.unwrap();

    // The controller stamps an annotation with the observed available replicas.
    let ctx = Arc::new(deploys.clone());
    let controller = Controller::new(deploys.clone(), watcher::Config::default())
        .run(
            |d: Arc<Deployment>, api: Arc<Api<Deployment>>| async move {
                let available = d.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0);
                let name = d.metadata.name.clone().unwrap_or_default();
                let patch = json!({"metadata": {"annotations": {"example.com/available": available.to_string()}}});
                api.patch(&name, &PatchParams::apply("reconciler"), &Patch::Merge(patch)).await?;
                Ok::<Action, kube::Error>(Action::await_change())
            },
            |_, _, _| Action::requeue(Duration::from_secs(1)),
            ctx,
        )
        .for_each(|_| async {});
    let task = tokio::spawn(controller);
    eventually(
        "controller saw the deployment available",
        Duration::from_secs(30),
        || async {
            let d = deploys.get("web").await.ok()?;
            (d.metadata.annotations?.get("example.com/available")? == "1").then_some(())
        },
    )
    .await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_tokens_and_client_certs_authenticate() {
    let c = TestCluster::start().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "ci").await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "ci");
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "bot"}})).unwrap(),
    )
    .await
    .unwrap();
    let tr: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let issued = sas
        .create_token_request("bot", &PostParams::default(), &tr)
        .await
        .unwrap();
    let token = issued.status.unwrap().token;

    let mut cfg = kube::Config::new(c.handle.url().parse().unwrap());
    cfg.root_cert = Some(vec![pem_der(c.handle.ca_pem())]);
    cfg.auth_info.token = Some(token.clone().into());
    let sa_client = kube::Client::try_from(cfg).unwrap();
    let pods: Api<Pod> = Api::namespaced(sa_client, "ci");
    let err = pods.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 403 && s.message.contains("system:serviceaccount:ci:bot")),
        "{err:?}"
    );

    let (cert, key) = c
        .handle
        .issue_client_cert("alice", &["system:masters"])
        .unwrap();
    let mut cfg = kube::Config::new(c.handle.url().parse().unwrap());
    cfg.root_cert = Some(vec![pem_der(c.handle.ca_pem())]);
    cfg.auth_info.client_certificate_data = Some(base64_std(&cert));
    cfg.auth_info.client_key_data = Some(base64_std(&key).into());
    let alice = kube::Client::try_from(cfg).unwrap();
    let pods: Api<Pod> = Api::namespaced(alice, "ci");
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

fn base64_std(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_with_stdin_and_status_over_kube_ws() {
    use kube::api::AttachParams;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let c = TestCluster::start().await.with_node().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "demo").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    pods.create(&PostParams::default(), &pod("x"))
        .await
        .unwrap();
    eventually("pod running", Duration::from_secs(20), || async {
        let p = pods.get("x").await.ok()?;
        (p.status?.phase? == "Running").then_some(())
    })
    .await;

    let mut proc = pods
        .exec(
            "x",
            ["cat"],
            &AttachParams::default().stdin(true).stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = proc.stdin().unwrap();
    stdin.write_all(b"through the socket\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    drop(stdin);
    let mut out = String::new();
    proc.stdout()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    assert_eq!(out, "through the socket\n");
    let status = proc.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));

    let proc = pods
        .exec(
            "x",
            ["sh", "-c", "echo oops >&2; exit 7"],
            &AttachParams::default().stderr(true),
        )
        .await
        .unwrap();
    let mut proc = proc;
    let mut err = String::new();
    proc.stderr()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    assert_eq!(err, "oops\n");
    let status = proc.take_status().unwrap().await.unwrap();
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let code = status
        .details
        .and_then(|d| d.causes)
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.message);
    assert_eq!(code.as_deref(), Some("7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pods_get_failed_scheduling_events() {
    use k8s_openapi::api::core::v1::Event;
    let c = TestCluster::start().await.with_node().await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "demo").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let mut p = pod("picky");
    p.spec.as_mut().unwrap().node_selector = Some([("disk".to_string(), "ssd".to_string())].into());
    pods.create(&PostParams::default(), &p).await.unwrap();
    let mut big = pod("big");
    big.spec.as_mut().unwrap().containers[0].resources =
        Some(serde_json::from_value(json!({"requests": {"cpu": "64"}})).unwrap());
    pods.create(&PostParams::default(), &big).await.unwrap();
    let events: Api<Event> = Api::namespaced(client.clone(), "demo");
    for (name, why) in [
        (
            "picky",
            "1 node(s) didn't match Pod's node affinity/selector",
        ),
        ("big", "1 Insufficient cpu"),
    ] {
        let msg = eventually(
            "FailedScheduling event",
            Duration::from_secs(10),
            || async {
                let list = events
                    .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
                    .await
                    .ok()?;
                list.items
                    .into_iter()
                    .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
                    .and_then(|e| e.message)
            },
        )
        .await;
        assert!(
            msg.starts_with("0/1 nodes are available:") && msg.contains(why),
            "{msg}"
        );
        let cond = pods
            .get(name)
            .await
            .unwrap()
            .status
            .unwrap()
            .conditions
            .unwrap();
        assert!(cond.iter().any(|c| c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_an_expired_resource_version_gets_410() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{WatchEvent, WatchParams};
    let c = TestCluster::start_with(|cfg| cfg.watch_history = 5).await;
    let client = c.handle.client().await.unwrap();
    namespace(&client, "demo").await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "demo");
    let first = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c0"}})).unwrap(),
        )
        .await
        .unwrap();
    for i in 1..20 {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let rv = first.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(e))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
            assert!(
                e.message
                    .starts_with(&format!("too old resource version: {rv}")),
                "{}",
                e.message
            );
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    // A recent resourceVersion resumes normally.
    let latest = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default(), &latest)
        .await
        .unwrap()
        .boxed();
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "late"}})).unwrap(),
    )
    .await
    .unwrap();
    match stream.next().await {
        Some(Ok(WatchEvent::Added(cm))) => assert_eq!(cm.metadata.name.as_deref(), Some("late")),
        other => panic!("expected ADDED, got {other:?}"),
    }
}
