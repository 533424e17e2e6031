//! Conformance: real kubectl drives the embedded server through the tutorial's commands and the
//! usual error cases, and kubectl's own messages are asserted.

mod support;

use std::time::Duration;

use support::{TestCluster, eventually, kubectl_available};

macro_rules! require_kubectl {
    () => {
        if !kubectl_available() {
            return;
        }
    };
}

fn data(name: &str) -> String {
    TestCluster::data(name).display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_rbac_and_pvc() {
    require_kubectl!();
    let c = TestCluster::start().await;
    c.kubectl_says(&["version"], "Server Version: v1.32").await;

    // The tutorial's RBAC file has no Namespace: on a fresh cluster it fails like a real one.
    let out = c
        .kubectl(&["create", "-f", &data("rbac-runner-config.yaml")])
        .await;
    out.fails_with(1, "namespaces \"gitlab-runners\" not found");

    c.kubectl(&["create", "ns", "gitlab-runners"]).await.ok();
    let out = c
        .kubectl(&["create", "-f", &data("rbac-runner-config.yaml")])
        .await;
    let stdout = out.ok();
    assert!(stdout.contains("serviceaccount/gitlab created"), "{stdout}");
    assert!(
        stdout.contains("role.rbac.authorization.k8s.io/gitlab created"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rolebinding.rbac.authorization.k8s.io/gitlab created"),
        "{stdout}"
    );

    // Duplicate create.
    let out = c
        .kubectl(&["create", "-f", &data("rbac-runner-config.yaml")])
        .await;
    out.fails_with(1, "Error from server (AlreadyExists): error when creating");
    out.stderr_says("serviceaccounts \"gitlab\" already exists");

    // PVC: apply, apply again (unchanged), server-side apply, Bound listing like the tutorial.
    c.kubectl_says(
        &["apply", "-f", &data("gitlab-runner-pvc.yaml")],
        "persistentvolumeclaim/gitlab-runner-pvc created",
    )
    .await;
    c.kubectl_says(
        &["apply", "-f", &data("gitlab-runner-pvc.yaml")],
        "persistentvolumeclaim/gitlab-runner-pvc unchanged",
    )
    .await;
    c.kubectl_says(
        &[
            "apply",
            "--server-side",
            "-f",
            &data("gitlab-runner-pvc.yaml"),
        ],
        "serverside-applied",
    )
    .await;
    let listing = eventually("pvc Bound", Duration::from_secs(20), || async {
        let out = c.kubectl(&["get", "pvc", "-n", "gitlab-runners"]).await;
        out.stdout.contains("Bound").then_some(out.stdout)
    })
    .await;
    let header = listing.lines().next().unwrap();
    for col in [
        "NAME",
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "AGE",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = listing.lines().nth(1).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[0], "gitlab-runner-pvc");
    assert_eq!(cells[1], "Bound");
    assert!(cells[2].starts_with("pvc-"), "{row}");
    assert_eq!(cells[3], "2Gi");
    assert_eq!(cells[4], "RWO", "the tutorial's listing shows RWO: {row}");
    assert_eq!(cells[5], "rbd");
    // The volume's directory exists under the state dir.
    let dir = c.handle.config().state_dir.join("volumes").join(cells[2]);
    assert!(dir.is_dir(), "{}", dir.display());

    // auth can-i with the ServiceAccount (RoleBinding subject without namespace).
    let sa = "--as=system:serviceaccount:gitlab-runners:gitlab";
    let out = c
        .kubectl(&[
            "auth",
            "can-i",
            "create",
            "pods",
            "-n",
            "gitlab-runners",
            sa,
        ])
        .await;
    assert_eq!(out.stdout.trim(), "yes", "{out:?}");
    let out = c
        .kubectl(&["auth", "can-i", "create", "clusterroles", sa])
        .await;
    assert_eq!((out.code, out.stdout.trim()), (1, "no"), "{out:?}");
    let out = c
        .kubectl(&["auth", "can-i", "create", "pods", "-n", "default", sa])
        .await;
    assert_eq!((out.code, out.stdout.trim()), (1, "no"), "{out:?}");
    let out = c.kubectl(&["get", "pods", "-n", "default", sa]).await;
    out.fails_with(1, "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:gitlab-runners:gitlab\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"");
    let out = c
        .kubectl(&["get", "pods", "-n", "gitlab-runners", sa])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
}

async fn tutorial_namespace(c: &TestCluster) {
    c.kubectl(&["apply", "-f", &data("namespace.yaml")])
        .await
        .ok();
    c.kubectl(&["create", "-f", &data("rbac-runner-config.yaml")])
        .await
        .ok();
    c.kubectl(&["apply", "-f", &data("gitlab-runner-pvc.yaml")])
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_roll_out_and_update() {
    require_kubectl!();
    let c = TestCluster::start().await.with_node().await;
    tutorial_namespace(&c).await;
    let ns = ["-n", "gitlab-runners"];
    c.kubectl_says(
        &["apply", "-f", &data("deployment.yaml")],
        "deployment.apps/gitlab-runner created",
    )
    .await;
    c.kubectl_says(
        &[
            "rollout",
            "status",
            "deployment/gitlab-runner",
            "-n",
            "gitlab-runners",
            "--timeout=60s",
        ],
        "deployment \"gitlab-runner\" successfully rolled out",
    )
    .await;

    // Apply with a changed image: strategic merge keeps env and volumeMounts, bumps generation.
    c.kubectl_says(
        &["apply", "-f", &data("deployment-v2.yaml")],
        "deployment.apps/gitlab-runner configured",
    )
    .await;
    let out = c.kubectl(&["get", "deploy", "gitlab-runner", "-n", "gitlab-runners", "-o",
        "jsonpath={.metadata.generation} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].name} {.spec.template.spec.containers[0].volumeMounts[0].mountPath}"]).await;
    assert_eq!(
        out.ok(),
        "2 gitlab/gitlab-runner:v12.9.0 CI_SERVER_URL /home/cache/maven"
    );
    c.kubectl_says(
        &[
            "rollout",
            "status",
            "deploy/gitlab-runner",
            "-n",
            "gitlab-runners",
            "--timeout=60s",
        ],
        "successfully rolled out",
    )
    .await;
    c.kubectl_says(
        &[
            "wait",
            "--for=condition=Available",
            "deploy/gitlab-runner",
            "-n",
            "gitlab-runners",
            "--timeout=30s",
        ],
        "deployment.apps/gitlab-runner condition met",
    )
    .await;
    // All pods run the new image once the rollout finished.
    let pods = eventually("old pods gone", Duration::from_secs(30), || async {
        let out = c
            .kubectl(&[
                "get",
                "po",
                "-n",
                "gitlab-runners",
                "-o",
                "jsonpath={range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}",
            ])
            .await;
        let lines: Vec<String> = out.stdout.lines().map(String::from).collect();
        (lines.len() == 2 && lines.iter().all(|l| l.ends_with("v12.9.0"))).then_some(lines)
    })
    .await;
    assert_eq!(pods.len(), 2);

    let out = c
        .kubectl(&["get", "deploy", "-o", "wide", "-n", "gitlab-runners"])
        .await;
    let text = out.ok();
    for col in [
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ] {
        assert!(text.contains(col), "{text}");
    }
    assert!(
        text.contains("2/2") && text.contains("app=gitlab-runner"),
        "{text}"
    );
    let out = c.kubectl(&["get", "all", "-n", "gitlab-runners"]).await;
    let text = out.ok();
    assert!(text.contains("pod/gitlab-runner-"), "{text}");
    assert!(text.contains("deployment.apps/gitlab-runner"), "{text}");
    assert!(text.contains("replicaset.apps/gitlab-runner-"), "{text}");
    let out = c.kubectl(&["get", "po", ns[0], ns[1]]).await;
    let text = out.ok();
    assert!(
        text.contains("READY") && text.contains("Running") && text.contains("1/1"),
        "{text}"
    );
    let out = c
        .kubectl(&["get", "po", "-n", "gitlab-runners", "-o", "yaml"])
        .await;
    assert!(
        out.ok().contains("kind: Pod") && out.stdout.contains("pod-template-hash"),
        "{}",
        out.stdout
    );
    let out = c
        .kubectl(&["get", "deploy", "-n", "gitlab-runners", "-o", "json"])
        .await;
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["items"][0]["status"]["availableReplicas"], 2);

    // Server-side apply of a changed manifest and delete with cascade.
    c.kubectl_says(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            &data("deployment.yaml"),
        ],
        "deployment.apps/gitlab-runner serverside-applied",
    )
    .await;
    c.kubectl_says(
        &["delete", "deploy/gitlab-runner", "-n", "gitlab-runners"],
        "deployment.apps \"gitlab-runner\" deleted",
    )
    .await;
    eventually("cascade to pods", Duration::from_secs(30), || async {
        let out = c
            .kubectl(&["get", "po,rs", "-n", "gitlab-runners", "-o", "name"])
            .await;
        out.stdout.trim().is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_logs_exec_describe_watch_and_errors() {
    require_kubectl!();
    let c = TestCluster::start().await.with_node().await;
    tutorial_namespace(&c).await;
    let ns = "gitlab-runners";
    // Start a watch before the pod exists.
    let mut watch = tokio::process::Command::new("kubectl")
        .env("KUBECONFIG", c.handle.kubeconfig_path())
        .args([
            "--cache-dir",
            &c.cache.display().to_string(),
            "get",
            "po",
            "-w",
            "-n",
            ns,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    c.kubectl(&["apply", "-f", &data("pod.yaml")]).await.ok();
    eventually("pod running", Duration::from_secs(20), || async {
        let out = c.kubectl(&["get", "po", "probe", "-n", ns]).await;
        out.stdout.contains("Running").then_some(())
    })
    .await;

    let out = c.kubectl(&["describe", "pod", "probe", "-n", ns]).await;
    let text = out.ok();
    assert!(
        text.contains("Containers:")
            && text.contains("main:")
            && text.contains("Node:")
            && text.contains("node-1"),
        "{text}"
    );
    assert!(
        text.contains("Scheduled")
            && text.contains("Successfully assigned gitlab-runners/probe to node-1"),
        "{text}"
    );

    let out = c.kubectl(&["logs", "probe", "-c", "main", "-n", ns]).await;
    assert_eq!(out.ok(), "main-line-1\nmain-line-2\n");
    let out = c.kubectl(&["logs", "probe", "-n", ns]).await;
    assert!(out.ok().contains("main-line-1"));
    out.stderr_says("Defaulted container \"main\" out of: main, side");
    let out = c
        .kubectl(&["logs", "-f", "probe", "-c", "side", "-n", ns])
        .await;
    assert_eq!(out.ok(), "side-line-1\n");

    let out = c
        .kubectl(&[
            "exec", "probe", "-n", ns, "-c", "main", "--", "sh", "-c", "echo hi",
        ])
        .await;
    assert_eq!(out.ok(), "hi\n");
    let out = c
        .kubectl(&[
            "exec", "probe", "-n", ns, "-c", "main", "--", "sh", "-c", "exit 3",
        ])
        .await;
    out.fails_with(3, "command terminated with exit code 3");
    let out = c
        .kubectl_stdin(
            &["exec", "-i", "probe", "-n", ns, "-c", "main", "--", "cat"],
            Some("abc\n"),
        )
        .await;
    assert_eq!(out.ok(), "abc\n");

    c.kubectl_says(
        &["delete", "pod", "probe", "-n", ns],
        "pod \"probe\" deleted",
    )
    .await;
    let out = c.kubectl(&["get", "pod", "probe", "-n", ns]).await;
    out.fails_with(1, "Error from server (NotFound): pods \"probe\" not found");

    // The watch saw the pod come and go.
    watch.start_kill().unwrap();
    let seen = watch.wait_with_output().await.unwrap();
    let seen = String::from_utf8_lossy(&seen.stdout);
    assert!(seen.contains("probe") && seen.contains("Running"), "{seen}");

    // Invalid manifest.
    let out = c.kubectl(&["create", "-f", &data("bad-pod.yaml")]).await;
    out.fails_with(1, "The Pod \"bad\" is invalid:");
    out.stderr_says("spec.containers[0].image: Required value");
    out.stderr_says("spec.containers[1].image: Required value");
    // A misspelled field is rejected under kubectl's default strict validation.
    let out = c
        .kubectl(&["apply", "-f", &data("typo-deployment.yaml")])
        .await;
    out.fails_with(
        1,
        "strict decoding error: unknown field \"spec.template.spec.containers[0].volumeMount\"",
    );
    // Server-side apply (how Helm 4 installs) makes a typed object of the body whatever
    // `fieldValidation` says: the real server's 500 names the field by the container's key.
    let out = c
        .kubectl(&[
            "apply",
            "--server-side",
            "-f",
            &data("typo-deployment.yaml"),
        ])
        .await;
    out.fails_with(
        1,
        "Error from server: failed to create typed patch object (gitlab-runners/typo; apps/v1, Kind=Deployment): .spec.template.spec.containers[name=\"main\"].volumeMount: field not declared in schema",
    );
    // Missing objects and unknown types.
    let out = c.kubectl(&["get", "deploy/nope", "-n", ns]).await;
    out.fails_with(
        1,
        "Error from server (NotFound): deployments.apps \"nope\" not found",
    );
    let out = c.kubectl(&["delete", "configmap", "nope", "-n", ns]).await;
    out.fails_with(
        1,
        "Error from server (NotFound): configmaps \"nope\" not found",
    );
    let out = c.kubectl(&["get", "widgets"]).await;
    out.fails_with(1, "the server doesn't have a resource type \"widgets\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_commands_explain_and_namespaces() {
    require_kubectl!();
    let c = TestCluster::start().await.with_node().await;
    c.kubectl(&["create", "ns", "team-a"]).await.ok();
    c.kubectl(&["create", "ns", "team-b"]).await.ok();
    let out = c.kubectl(&["create", "ns", "team-a"]).await;
    out.fails_with(
        1,
        "Error from server (AlreadyExists): namespaces \"team-a\" already exists",
    );
    c.kubectl_says(
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.25",
            "-n",
            "team-a",
            "--",
            "sleep",
            "3600",
        ],
        "deployment.apps/web created",
    )
    .await;
    assert_eq!(
        c.jsonpath(
            "deploy/web",
            "team-a",
            "jsonpath={.spec.template.spec.containers[0].command}"
        )
        .await,
        "[\"sleep\",\"3600\"]"
    );
    c.rollout_status("deploy/web", "team-a").await;

    c.kubectl_says(
        &["scale", "deploy/web", "--replicas=3", "-n", "team-a"],
        "deployment.apps/web scaled",
    )
    .await;
    c.rollout_status("deploy/web", "team-a").await;
    assert_eq!(
        c.jsonpath("deploy/web", "team-a", "jsonpath={.status.readyReplicas}")
            .await,
        "3"
    );
    c.kubectl_says(
        &["label", "deploy/web", "tier=front", "-n", "team-a"],
        "deployment.apps/web labeled",
    )
    .await;
    c.kubectl_says(
        &["rollout", "restart", "deploy/web", "-n", "team-a"],
        "deployment.apps/web restarted",
    )
    .await;
    c.kubectl_says(
        &[
            "rollout",
            "status",
            "deploy/web",
            "-n",
            "team-a",
            "--timeout=60s",
        ],
        "successfully rolled out",
    )
    .await;
    let out = c
        .kubectl(&["get", "rs", "-n", "team-a", "-l", "app=web", "--no-headers"])
        .await;
    assert_eq!(
        out.ok().lines().count(),
        2,
        "a restart makes a second ReplicaSet: {}",
        out.stdout
    );

    // Same pod name in two namespaces stays apart.
    for ns in ["team-a", "team-b"] {
        c.kubectl(&[
            "run",
            "twin",
            "--image=busybox:1.36",
            "-n",
            ns,
            "--labels",
            &format!("home={ns}"),
            "--",
            "sleep",
            "1",
        ])
        .await
        .ok();
    }
    for ns in ["team-a", "team-b"] {
        let out = c
            .kubectl(&[
                "get",
                "po",
                "twin",
                "-n",
                ns,
                "-o",
                "jsonpath={.metadata.labels.home}",
            ])
            .await;
        assert_eq!(out.ok(), ns);
    }
    let out = c
        .kubectl(&[
            "get",
            "po",
            "-A",
            "--field-selector",
            "metadata.name=twin",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out.ok().lines().count(), 2, "{}", out.stdout);

    c.kubectl_says(
        &[
            "create",
            "service",
            "clusterip",
            "web",
            "--tcp=80:8080",
            "-n",
            "team-a",
        ],
        "service/web created",
    )
    .await;
    let out = c
        .kubectl(&["get", "svc", "web", "-n", "team-a", "--no-headers"])
        .await;
    assert!(
        out.ok().contains("ClusterIP")
            && out.stdout.contains("10.96.")
            && out.stdout.contains("80/TCP"),
        "{}",
        out.stdout
    );
    let out = c.kubectl(&["auth", "whoami"]).await;
    assert!(
        out.ok().contains("admin") && out.stdout.contains("system:masters"),
        "{}",
        out.stdout
    );

    let out = c.kubectl(&["explain", "pod.spec.containers.image"]).await;
    assert!(
        out.ok().contains("FIELD: image <string>") || out.stdout.contains("image"),
        "{}",
        out.stdout
    );
    c.kubectl_says(&["explain", "deployment.spec.replicas"], "replicas")
        .await;

    let out = c
        .kubectl(&["get", "sa", "default", "-n", "team-b", "-o", "name"])
        .await;
    assert_eq!(out.ok().trim(), "serviceaccount/default");
    c.kubectl_says(&["delete", "ns", "team-b"], "namespace \"team-b\" deleted")
        .await;
    let out = c.kubectl(&["get", "ns", "team-b"]).await;
    out.fails_with(
        1,
        "Error from server (NotFound): namespaces \"team-b\" not found",
    );
    let out = c.kubectl(&["--token=wrong", "get", "ns"]).await;
    out.fails_with(
        1,
        "error: You must be logged in to the server (Unauthorized)",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_without_rwx_leaves_the_claim_pending() {
    require_kubectl!();
    let c = TestCluster::start_with(|cfg| {
        let mut rbd = harness_apiserver::StorageClassSpec::new(
            "rbd",
            "kubernetes.io/rbd",
            &["ReadWriteOnce"],
        );
        rbd.is_default = true;
        cfg.storage_classes = vec![rbd];
    })
    .await
    .with_node()
    .await;
    c.kubectl(&["apply", "-f", &data("namespace.yaml")])
        .await
        .ok();
    c.kubectl(&["apply", "-f", &data("gitlab-runner-pvc.yaml")])
        .await
        .ok();
    let text = eventually(
        "ProvisioningFailed event",
        Duration::from_secs(20),
        || async {
            let out = c
                .kubectl(&[
                    "describe",
                    "pvc",
                    "gitlab-runner-pvc",
                    "-n",
                    "gitlab-runners",
                ])
                .await;
            out.stdout
                .contains("ProvisioningFailed")
                .then_some(out.stdout)
        },
    )
    .await;
    assert!(text.contains("Pending"), "{text}");
    assert!(
        text.contains("does not support access mode ReadWriteMany"),
        "{text}"
    );
    c.kubectl_says(
        &["get", "pvc", "-n", "gitlab-runners", "--no-headers"],
        "Pending",
    )
    .await;
    c.kubectl_says(&["get", "sc"], "rbd (default)").await;
    // A pod mounting the claim is not scheduled, as a real scheduler would refuse it.
    c.kubectl(&["apply", "-f", &data("cache-pod.yaml")])
        .await
        .ok();
    let text = eventually("FailedScheduling", Duration::from_secs(20), || async {
        let out = c
            .kubectl(&["describe", "pod", "cache-user", "-n", "gitlab-runners"])
            .await;
        out.stdout
            .contains("FailedScheduling")
            .then_some(out.stdout)
    })
    .await;
    assert!(
        text.contains("pod has unbound immediate PersistentVolumeClaims"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_and_service_account_volume() {
    require_kubectl!();
    let c = TestCluster::start().await.with_node().await;
    c.kubectl(&["apply", "-f", &data("namespace.yaml")])
        .await
        .ok();
    c.kubectl(&["apply", "-f", &data("pod.yaml")]).await.ok();
    eventually("pod running", Duration::from_secs(20), || async {
        let out = c
            .kubectl(&["get", "po", "probe", "-n", "gitlab-runners"])
            .await;
        out.stdout.contains("Running").then_some(())
    })
    .await;
    // The test double attaches to a fresh run of the container's command.
    let out = c
        .kubectl(&["attach", "probe", "-c", "side", "-n", "gitlab-runners"])
        .await;
    assert!(out.ok().contains("side-line-1"), "{out:?}");
    // The ServiceAccount admission projected the token volume into every container.
    let out = c.kubectl(&["get", "po", "probe", "-n", "gitlab-runners", "-o",
        "jsonpath={.spec.containers[1].volumeMounts[0].mountPath} {.spec.volumes[0].projected.sources[0].serviceAccountToken.path}"]).await;
    assert_eq!(
        out.ok(),
        "/var/run/secrets/kubernetes.io/serviceaccount token"
    );
    let out = c
        .kubectl(&[
            "run",
            "lost",
            "-n",
            "gitlab-runners",
            "--image=busybox:1.36",
            "--overrides",
            r#"{"spec":{"serviceAccountName":"nobody"}}"#,
        ])
        .await;
    out.fails_with(1, "error looking up service account gitlab-runners/nobody: serviceaccount \"nobody\" not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflicts_and_strict_patches() {
    require_kubectl!();
    let c = TestCluster::start().await;
    let settings = |colour: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  colour: {colour}\n  size: big\n"
        )
    };
    let apply = |args: &'static [&'static str], colour: &str| {
        let manifest = settings(colour);
        let c = &c;
        async move {
            let mut all = vec!["apply"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["-f", "-"]);
            c.kubectl_stdin(&all, Some(&manifest)).await
        }
    };
    // Client-side apply owns the fields (manager kubectl-client-side-apply).
    assert!(
        apply(&[], "blue")
            .await
            .ok()
            .contains("configmap/settings created")
    );
    // The same values server-side: shared, no conflict.
    assert!(
        apply(&["--server-side"], "blue")
            .await
            .ok()
            .contains("serverside-applied")
    );
    // A different value server-side: the real server's 409 and kubectl's advice.
    let out = apply(&["--server-side"], "red").await;
    out.fails_with(
        1,
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.colour",
    );
    out.stderr_says("--force-conflicts");
    assert_eq!(
        c.jsonpath("cm/settings", "default", "jsonpath={.data.colour}")
            .await,
        "blue"
    );
    // Forced: the value changes and the field leaves its former manager.
    assert!(
        apply(&["--server-side", "--force-conflicts"], "red")
            .await
            .ok()
            .contains("serverside-applied")
    );
    assert_eq!(
        c.jsonpath("cm/settings", "default", "jsonpath={.data.colour}")
            .await,
        "red"
    );
    let csa = c
        .jsonpath(
            "cm/settings",
            "default",
            "jsonpath={.metadata.managedFields[?(@.manager==\"kubectl-client-side-apply\")].fieldsV1}",
        )
        .await;
    assert!(csa.contains("f:size") && !csa.contains("f:colour"), "{csa}");
    // Now "kubectl" owns the colour: changing it again is its own business, another manager conflicts.
    assert!(
        apply(&["--server-side"], "green")
            .await
            .ok()
            .contains("serverside-applied")
    );
    apply(&["--server-side", "--field-manager=ops"], "pink")
        .await
        .fails_with(1, "conflict with \"kubectl\" using v1: .data.colour");
    // A misspelled field in an apply to an existing object (a patch) is refused as well.
    let typo = format!("{}binaryDat:\n  x: eA==\n", settings("green"));
    c.kubectl_stdin(&["apply", "-f", "-"], Some(&typo))
        .await
        .fails_with(1, "strict decoding error: unknown field \"binaryDat\"");
    assert_eq!(
        c.jsonpath("cm/settings", "default", "jsonpath={.data.colour}")
            .await,
        "green"
    );
}
