//! kubectl's typed `create` commands send protobuf bodies; each one works here as on a real
//! server and stores what was asked for.

mod support;

use support::{TestCluster, kubectl_available};

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
    c.kubectl_says(
        &[
            "create",
            "configmap",
            "settings",
            "-n",
            ns,
            "--from-literal=colour=blue",
        ],
        "configmap/settings created",
    )
    .await;
    assert_eq!(
        c.jsonpath("cm/settings", ns, "jsonpath={.data.colour}")
            .await,
        "blue"
    );
    c.kubectl_says(
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
    )
    .await;
    assert_eq!(
        c.jsonpath("secret/creds", ns, "jsonpath={.data.password}")
            .await,
        "czNjcmV0"
    );

    c.kubectl_says(
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
    )
    .await;
    assert_eq!(
        c.jsonpath(
            "role/pod-reader",
            ns,
            "jsonpath={.rules[0].apiGroups} {.rules[0].resources} {.rules[0].verbs}"
        )
        .await,
        r#"[""] ["pods","pods/log"] ["get","list"]"#
    );
    c.kubectl_says(
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
    )
    .await;
    assert_eq!(
        c.jsonpath(
            "rolebinding/read-pods",
            ns,
            "jsonpath={.roleRef.kind}/{.roleRef.name} {.subjects[*].kind} {.subjects[*].name}"
        )
        .await,
        "Role/pod-reader User ServiceAccount alice bot"
    );
    let out = c
        .kubectl(&[
            "auth",
            "can-i",
            "list",
            "pods",
            "-n",
            ns,
            "--as=system:serviceaccount:team:bot",
        ])
        .await;
    assert_eq!(out.ok().trim(), "yes");

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
    c.kubectl_says(
        &[
            "create",
            "clusterrole",
            "aggregated",
            "--aggregation-rule=example.com/aggregate=true",
        ],
        "clusterrole.rbac.authorization.k8s.io/aggregated created",
    )
    .await;
    assert_eq!(
        c.jsonpath(
            "clusterrole/aggregated",
            "",
            "jsonpath={.aggregationRule.clusterRoleSelectors[0].matchLabels}"
        )
        .await,
        r#"{"example.com/aggregate":"true"}"#
    );
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
    let out = c
        .kubectl(&[
            "auth",
            "can-i",
            "get",
            "nodes",
            "--as=system:serviceaccount:team:bot",
        ])
        .await;
    assert_eq!(out.ok().trim(), "yes");

    // `create token`: a TokenRequest; the token works (for the API server's audience) unless
    // it was asked for another audience.
    let token = c.kubectl(&["create", "token", "bot", "-n", ns]).await;
    let token = token.ok().trim().to_string();
    let whoami = c
        .kubectl(&[
            &format!("--token={token}"),
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .await;
    assert_eq!(whoami.ok(), "system:serviceaccount:team:bot");
    let vault = c
        .kubectl(&[
            "create",
            "token",
            "bot",
            "-n",
            ns,
            "--audience=vault",
            "--duration=15m",
        ])
        .await;
    let vault = vault.ok().trim().to_string();
    c.kubectl(&[&format!("--token={vault}"), "auth", "whoami"])
        .await
        .fails_with(
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
    let bound = c
        .kubectl(&[
            "create",
            "token",
            "bot",
            "-n",
            ns,
            "--bound-object-kind=Pod",
            "--bound-object-name=worker",
        ])
        .await;
    let bound = format!("--token={}", bound.ok().trim());
    c.kubectl(&[&bound, "auth", "whoami"]).await.ok();
    c.kubectl(&["delete", "pod", "worker", "-n", ns]).await.ok();
    c.kubectl(&[&bound, "auth", "whoami"]).await.fails_with(
        1,
        "error: You must be logged in to the server (Unauthorized)",
    );
}
