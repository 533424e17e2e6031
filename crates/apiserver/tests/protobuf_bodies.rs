//! kubectl's typed `create` commands send protobuf bodies; each one works here as on a real
//! server and stores what was asked for.

mod support;

use support::{TestCluster, kubectl_available};

/// Runs a `kubectl create` command that must print `says`, then returns the stored `object`'s
/// `jsonpath` in namespace `ns`.
async fn created(
    c: &TestCluster,
    create: &[&str],
    says: &str,
    (object, ns): (&str, &str),
    jsonpath: &str,
) -> String {
    c.kubectl_says(create, says).await;
    c.jsonpath(object, ns, jsonpath).await
}

/// `kubectl auth can-i VERB RESOURCE [-n NS]` for the ServiceAccount `team/bot`.
async fn bot_can(c: &TestCluster, verb: &str, resource: &str, ns: Option<&str>) -> String {
    let mut args = vec!["auth", "can-i", verb, resource];
    args.extend(ns.map(|ns| ["-n", ns]).into_iter().flatten());
    args.push("--as=system:serviceaccount:team:bot");
    c.kubectl(&args).await.ok().trim().to_string()
}

/// `kubectl create token bot -n team` with `options`, as the `--token=…` flag that uses it.
async fn bot_token(c: &TestCluster, options: &[&str]) -> String {
    let mut args = vec!["create", "token", "bot", "-n", "team"];
    args.extend_from_slice(options);
    format!("--token={}", c.kubectl(&args).await.ok().trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_commands_that_send_protobuf() {
    if !kubectl_available() {
        return;
    }
    let c = TestCluster::start().await;
    let ns = "team";
    c.kubectl_says(&["create", "namespace", ns], "namespace/team created")
        .await;
    c.kubectl_says(
        &["create", "serviceaccount", "bot", "-n", ns],
        "serviceaccount/bot created",
    )
    .await;
    // Each created object as stored: (create command, what kubectl says, object, jsonpath, value).
    for (create, says, object, jsonpath, stored) in [
        (
            &[
                "create",
                "configmap",
                "settings",
                "-n",
                ns,
                "--from-literal=colour=blue",
            ][..],
            "configmap/settings created",
            "cm/settings",
            "jsonpath={.data.colour}",
            "blue",
        ),
        (
            &[
                "create",
                "secret",
                "generic",
                "creds",
                "-n",
                ns,
                "--from-literal=password=s3cret",
            ],
            "secret/creds created",
            "secret/creds",
            "jsonpath={.data.password}",
            "czNjcmV0",
        ),
        (
            &[
                "create",
                "role",
                "pod-reader",
                "-n",
                ns,
                "--verb=get,list",
                "--resource=pods,pods/log",
            ],
            "role.rbac.authorization.k8s.io/pod-reader created",
            "role/pod-reader",
            "jsonpath={.rules[0].apiGroups} {.rules[0].resources} {.rules[0].verbs}",
            r#"[""] ["pods","pods/log"] ["get","list"]"#,
        ),
        (
            &[
                "create",
                "rolebinding",
                "read-pods",
                "-n",
                ns,
                "--role=pod-reader",
                "--serviceaccount=team:bot",
                "--user=alice",
            ],
            "rolebinding.rbac.authorization.k8s.io/read-pods created",
            "rolebinding/read-pods",
            "jsonpath={.roleRef.kind}/{.roleRef.name} {.subjects[*].kind} {.subjects[*].name}",
            "Role/pod-reader User ServiceAccount alice bot",
        ),
    ] {
        assert_eq!(
            created(&c, create, says, (object, ns), jsonpath).await,
            stored
        );
    }
    assert_eq!(bot_can(&c, "list", "pods", Some(ns)).await, "yes");

    c.kubectl_says(
        &[
            "create",
            "clusterrole",
            "node-reader",
            "--verb=get",
            "--resource=nodes",
            "--non-resource-url=/healthz",
        ],
        "clusterrole.rbac.authorization.k8s.io/node-reader created",
    )
    .await;
    let out = c
        .kubectl(&[
            "get",
            "clusterrole",
            "node-reader",
            "-o",
            "jsonpath={.rules}",
        ])
        .await;
    assert!(
        out.ok().contains(r#""resources":["nodes"]"#)
            && out.stdout.contains(r#""nonResourceURLs":["/healthz"]"#),
        "{}",
        out.stdout
    );
    let aggregated = created(
        &c,
        &[
            "create",
            "clusterrole",
            "aggregated",
            "--aggregation-rule=example.com/aggregate=true",
        ],
        "clusterrole.rbac.authorization.k8s.io/aggregated created",
        ("clusterrole/aggregated", ""),
        "jsonpath={.aggregationRule.clusterRoleSelectors[0].matchLabels}",
    )
    .await;
    assert_eq!(aggregated, r#"{"example.com/aggregate":"true"}"#);
    c.kubectl_says(
        &[
            "create",
            "clusterrolebinding",
            "read-nodes",
            "--clusterrole=node-reader",
            "--serviceaccount=team:bot",
            "--group=readers",
        ],
        "clusterrolebinding.rbac.authorization.k8s.io/read-nodes created",
    )
    .await;
    assert_eq!(bot_can(&c, "get", "nodes", None).await, "yes");

    // `create token`: a TokenRequest; the token works (for the API server's audience) unless
    // it was asked for another audience.
    let token = bot_token(&c, &[]).await;
    let whoami = c
        .kubectl(&[
            &token,
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .await;
    assert_eq!(whoami.ok(), "system:serviceaccount:team:bot");
    let vault = bot_token(&c, &["--audience=vault", "--duration=15m"]).await;
    c.kubectl(&[&vault, "auth", "whoami"]).await.fails_with(
        1,
        "error: You must be logged in to the server (Unauthorized)",
    );

    // Bound to a pod: good while the pod exists.
    c.kubectl(&[
        "run",
        "worker",
        "-n",
        ns,
        "--image=busybox:1.36",
        "--overrides",
        r#"{"spec":{"serviceAccountName":"bot"}}"#,
    ])
    .await
    .ok();
    let bound = bot_token(
        &c,
        &["--bound-object-kind=Pod", "--bound-object-name=worker"],
    )
    .await;
    c.kubectl(&[&bound, "auth", "whoami"]).await.ok();
    c.kubectl(&["delete", "pod", "worker", "-n", ns]).await.ok();
    c.kubectl(&[&bound, "auth", "whoami"]).await.fails_with(
        1,
        "error: You must be logged in to the server (Unauthorized)",
    );
}
