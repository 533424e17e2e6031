//! Impersonation with real kubectl: a ServiceAccount allowed to impersonate users only cannot
//! add groups (such as `system:masters`), uids or extras to the identity it takes on.

mod support;

use support::{TestCluster, cluster_role_for, kubectl_available, service_account};

const ACCOUNT: (&str, &str) = ("ops", "imp");

/// The ServiceAccount, allowed to impersonate users.
fn setup() -> String {
    service_account(ACCOUNT.0, ACCOUNT.1)
        + "---\n"
        + &cluster_role_for(
            "impersonate-users",
            r#"- {apiGroups: [""], resources: [users], verbs: [impersonate]}"#,
            "imp-impersonates-users",
            ACCOUNT,
        )
}

/// The grant to impersonate groups as well.
fn groups_too() -> String {
    cluster_role_for(
        "impersonate-groups",
        r#"- {apiGroups: [""], resources: [groups], verbs: [impersonate]}"#,
        "imp-impersonates-groups",
        ACCOUNT,
    )
}

/// As nobody in `system:masters`, list kube-system's secrets.
const MASTERS_READ_SECRETS: &[&str] = &[
    "--as=nobody",
    "--as-group=system:masters",
    "get",
    "secrets",
    "-n",
    "kube-system",
];

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
    c.create(&setup(), &[]).await.ok();
    let token = c.handle.service_account_token("ops", "imp", 3600).unwrap();
    // Users only: adding system:masters is refused, whatever the request.
    let out = as_imp(&c, &token, MASTERS_READ_SECRETS).await;
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
    c.create(&groups_too(), &[]).await.ok();
    as_imp(&c, &token, MASTERS_READ_SECRETS).await.ok();
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
