//! Impersonation with real kubectl: a ServiceAccount allowed to impersonate users only cannot
//! add groups (such as `system:masters`), uids or extras to the identity it takes on.

mod support;

use support::{TestCluster, kubectl_available};

const SETUP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: imp, namespace: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-users}
rules:
- {apiGroups: [""], resources: [users], verbs: [impersonate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: imp-impersonates-users}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-users}
subjects: [{kind: ServiceAccount, name: imp, namespace: ops}]
"#;

const GROUPS_TOO: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-groups}
rules:
- {apiGroups: [""], resources: [groups], verbs: [impersonate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: imp-impersonates-groups}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-groups}
subjects: [{kind: ServiceAccount, name: imp, namespace: ops}]
"#;

const IMP: &str = "system:serviceaccount:ops:imp";

/// A kubeconfig for the ServiceAccount's token that also impersonates with an extra.
fn kubeconfig_with_extra(c: &TestCluster, token: &str) -> std::path::PathBuf {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(c.handle.ca_pem());
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority-data: {ca}}}\nusers:\n- name: u\n  user:\n    token: {token}\n    as: nobody\n    as-user-extra: {{scopes: [view]}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n",
        c.handle.url()
    );
    let path = c.dir.path().join("extra-kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// kubectl with the ServiceAccount's token.
async fn as_imp(c: &TestCluster, token: &str, args: &[&str]) -> support::KubectlResult {
    let token = format!("--token={token}");
    let mut all = vec![token.as_str()];
    all.extend_from_slice(args);
    c.kubectl(&all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_impersonated_part_needs_its_own_permission() {
    if !kubectl_available() {
        return;
    }
    let c = TestCluster::start().await;
    c.kubectl_stdin(&["create", "-f", "-"], Some(SETUP))
        .await
        .ok();
    let token = c.handle.service_account_token("ops", "imp", 3600).unwrap();
    // Users only: adding system:masters is refused, whatever the request.
    let out = as_imp(
        &c,
        &token,
        &[
            "--as=nobody",
            "--as-group=system:masters",
            "get",
            "secrets",
            "-n",
            "kube-system",
        ],
    )
    .await;
    out.fails_with(1, &format!("Error from server (Forbidden): groups \"system:masters\" is forbidden: User \"{IMP}\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"));

    // The user alone is allowed, and then has only that user's rights.
    let out = as_imp(
        &c,
        &token,
        &["--as=nobody", "get", "secrets", "-n", "kube-system"],
    )
    .await;
    out.fails_with(1, "secrets is forbidden: User \"nobody\" cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\"");

    // A uid, an extra, or a ServiceAccount user each need their own grant.
    let out = as_imp(&c, &token, &["--as=nobody", "--as-uid=1234", "get", "pods"]).await;
    out.fails_with(1, &format!("uids.authentication.k8s.io \"1234\" is forbidden: User \"{IMP}\" cannot impersonate resource \"uids\" in API group \"authentication.k8s.io\" at the cluster scope"));
    let kubeconfig = kubeconfig_with_extra(&c, &token);
    let out = c
        .kubectl(&["--kubeconfig", kubeconfig.to_str().unwrap(), "get", "pods"])
        .await;
    out.fails_with(1, &format!("userextras.authentication.k8s.io \"view\" is forbidden: User \"{IMP}\" cannot impersonate resource \"userextras/scopes\" in API group \"authentication.k8s.io\" at the cluster scope"));
    let out = as_imp(
        &c,
        &token,
        &[
            "--as=system:serviceaccount:kube-system:default",
            "get",
            "pods",
        ],
    )
    .await;
    out.fails_with(1, &format!("serviceaccounts \"default\" is forbidden: User \"{IMP}\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"kube-system\""));

    // Granted groups as well, the same request goes through as nobody in system:masters.
    c.kubectl_stdin(&["create", "-f", "-"], Some(GROUPS_TOO))
        .await
        .ok();
    as_imp(
        &c,
        &token,
        &[
            "--as=nobody",
            "--as-group=system:masters",
            "get",
            "secrets",
            "-n",
            "kube-system",
        ],
    )
    .await
    .ok();
    let out = as_imp(
        &c,
        &token,
        &[
            "--as=nobody",
            "--as-group=system:masters",
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.groups}",
        ],
    )
    .await;
    assert_eq!(out.ok(), r#"["system:masters","system:authenticated"]"#);
}
