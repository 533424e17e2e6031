//! RBAC escalation prevention with real kubectl: a ServiceAccount that may only write roles and
//! bindings cannot grant itself (or anyone) more than it holds, unless it has `escalate` on
//! roles or `bind` on the role it binds.

mod support;

use support::{TestCluster, cluster_role_for, kubectl_available, service_account};

const AS_GRANTER: &str = "--as=system:serviceaccount:team:granter";
const GRANTER_IS: &str = r#"user "system:serviceaccount:team:granter" (groups=["system:serviceaccounts" "system:serviceaccounts:team" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:"#;
const CLUSTER_ADMIN_RULES: &str = "\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}\n{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}";
const SECRETS_RULE: &str = "\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}";

/// The ServiceAccount `granter`, allowed to write roles and bindings only.
fn setup() -> String {
    service_account("team", "granter")
        + "---\n"
        + &cluster_role_for(
            "rbac-writer",
            "- apiGroups: [rbac.authorization.k8s.io]\n  resources: [roles, rolebindings, clusterroles, clusterrolebindings]\n  verbs: [get, list, create, update, patch]",
            "granter-writes-rbac",
            ("team", "granter"),
        )
}

fn binding(kind: &str, name: &str, role_kind: &str, role: &str) -> String {
    let ns = if kind == "RoleBinding" {
        "\n  namespace: team"
    } else {
        ""
    };
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {name}{ns}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}\nsubjects: [{{kind: ServiceAccount, name: granter, namespace: team}}]\n"
    )
}

fn role(kind: &str, name: &str, group: &str, resource: &str, verb: &str) -> String {
    let ns = if kind == "Role" {
        "\n  namespace: team"
    } else {
        ""
    };
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {name}{ns}\nrules:\n- apiGroups: [\"{group}\"]\n  resources: [{resource}]\n  verbs: [{verb}]\n"
    )
}

async fn create_as_granter(c: &TestCluster, manifest: &str) -> support::KubectlResult {
    c.create(manifest, &[AS_GRANTER]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_bindings_grant_only_what_the_writer_holds() {
    if !kubectl_available() {
        return;
    }
    let c = TestCluster::start().await;
    c.create(&setup(), &[]).await.ok();

    // Binding cluster-admin to itself, cluster-wide or in its namespace; a Role or ClusterRole
    // granting what the writer lacks.
    for (manifest, refusal) in [
        (
            binding("ClusterRoleBinding", "mine", "ClusterRole", "cluster-admin"),
            format!(
                "Error from server (Forbidden): error when creating \"STDIN\": clusterrolebindings.rbac.authorization.k8s.io \"mine\" is forbidden: {GRANTER_IS}{CLUSTER_ADMIN_RULES}"
            ),
        ),
        (
            binding("RoleBinding", "mine", "ClusterRole", "cluster-admin"),
            format!(
                "rolebindings.rbac.authorization.k8s.io \"mine\" is forbidden: {GRANTER_IS}{CLUSTER_ADMIN_RULES}"
            ),
        ),
        (
            role("Role", "peek", "", "secrets", "get"),
            format!(
                "roles.rbac.authorization.k8s.io \"peek\" is forbidden: {GRANTER_IS}{SECRETS_RULE}"
            ),
        ),
        (
            role("ClusterRole", "peek", "", "secrets", "get"),
            format!(
                "clusterroles.rbac.authorization.k8s.io \"peek\" is forbidden: {GRANTER_IS}{SECRETS_RULE}"
            ),
        ),
    ] {
        create_as_granter(&c, &manifest)
            .await
            .fails_with(1, &refusal);
    }

    // What it holds it may hand on, but a patch cannot widen it afterwards.
    create_as_granter(
        &c,
        &role(
            "Role",
            "reader",
            "rbac.authorization.k8s.io",
            "roles",
            "get",
        ),
    )
    .await
    .ok();
    create_as_granter(&c, &binding("RoleBinding", "reader", "Role", "reader"))
        .await
        .ok();
    let widen = r#"[{"op": "add", "path": "/rules/-", "value": {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}}]"#;
    let out = c
        .kubectl(&[
            "patch",
            "role",
            "reader",
            "-n",
            "team",
            "--type=json",
            "-p",
            widen,
            AS_GRANTER,
        ])
        .await;
    out.fails_with(
        1,
        &format!(
            "roles.rbac.authorization.k8s.io \"reader\" is forbidden: {GRANTER_IS}{SECRETS_RULE}"
        ),
    );

    // A binding's roleRef is fixed once created (for anyone).
    let out = c
        .kubectl(&[
            "patch",
            "rolebinding",
            "reader",
            "-n",
            "team",
            "--type=merge",
            "-p",
            r#"{"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}"#,
        ])
        .await;
    out.fails_with(1, "The RoleBinding \"reader\" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"cluster-admin\"}: cannot change roleRef");

    // `escalate` on roles lifts the check for roles; `bind` on one ClusterRole in the namespace
    // lifts it for bindings to that role there, and nowhere else.
    let grants = format!(
        "{}---\n{}---\n{}",
        role(
            "Role",
            "escalator",
            "rbac.authorization.k8s.io",
            "roles",
            "escalate"
        ),
        binding("RoleBinding", "escalator", "Role", "escalator"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: view-binder, namespace: team}\nrules:\n- apiGroups: [rbac.authorization.k8s.io]\n  resources: [clusterroles]\n  resourceNames: [view]\n  verbs: [bind]\n---\n"
    ) + &binding("RoleBinding", "view-binder", "Role", "view-binder");
    c.create(&grants, &[]).await.ok();
    create_as_granter(&c, &role("Role", "peek", "", "secrets", "get"))
        .await
        .ok();
    create_as_granter(&c, &binding("RoleBinding", "viewer", "ClusterRole", "view"))
        .await
        .ok();
    let out = create_as_granter(
        &c,
        &binding("ClusterRoleBinding", "viewer", "ClusterRole", "view"),
    )
    .await;
    out.fails_with(
        1,
        "clusterrolebindings.rbac.authorization.k8s.io \"viewer\" is forbidden",
    );

    // The cluster admin (system:masters) is not limited.
    let by_admin = binding(
        "ClusterRoleBinding",
        "granted-by-admin",
        "ClusterRole",
        "cluster-admin",
    );
    c.create(&by_admin, &[]).await.ok();
}
