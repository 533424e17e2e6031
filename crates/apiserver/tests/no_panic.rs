//! Property test: no malformed body, path, query or content type makes the server panic or drop
//! a connection; every request gets an HTTP answer and the server stays healthy.

mod support;

use proptest::prelude::*;
use support::TestCluster;

fn http_client(c: &TestCluster) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(c.handle.ca_pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap()
}

fn paths() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "/api/v1/namespaces",
        "/api/v1/namespaces/default/pods",
        "/api/v1/namespaces/default/pods/p",
        "/api/v1/namespaces/default/pods/p/status",
        "/api/v1/namespaces/default/pods/p/log",
        "/api/v1/namespaces/default/pods/p/exec",
        "/apis/apps/v1/namespaces/default/deployments",
        "/apis/apps/v1/namespaces/default/deployments/d/scale",
        "/api/v1/namespaces/default/serviceaccounts/default/token",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "/api/v1/namespaces/default/pods/p/binding",
        "/openapi/v3/apis/apps/v1",
        "/api/v1/persistentvolumes/x",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/api/v1/namespaces/default/configmaps/c",
    ]);
    prop_oneof![
        known.prop_map(String::from),
        "/[a-z0-9/._%-]{0,60}",
        (
            prop::sample::select(vec!["/api/v1/", "/apis/apps/v1/", "/api/v1/namespaces/"]),
            "[a-z0-9/%.-]{0,40}"
        )
            .prop_map(|(a, b)| format!("{a}{b}")),
    ]
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let json_like = prop::sample::select(vec![
        r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}"#,
        r#"{"metadata":{"name":5}}"#,
        r#"[]"#,
        r#"null"#,
        r#"{"spec":{"containers":"x"}}"#,
        r#"{"metadata":{"name":"d"},"spec":{"selector":{},"template":{}}}"#,
        r#"[{"op":"replace","path":"/x/y/z","value":1}]"#,
        r#"{"status":{"phase":7}}"#,
        r#"{"spec":{"resourceAttributes":{"verb":1}}}"#,
        r#"{"target":{}}"#,
        "k8s\u{0}\u{1}\u{2}",
    ]);
    prop_oneof![
        json_like.prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,120}".prop_map(|s| s.into_bytes()),
    ]
}

fn content_types() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
        "text/garbage",
    ])
}

#[test]
fn malformed_requests_never_break_the_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(TestCluster::start());
    let http = http_client(&c);
    let base = c.handle.url();
    let token = c.handle.admin_token().to_string();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    });
    let methods = prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]);
    let query = "[a-zA-Z=&%0-9+]{0,40}";
    runner
        .run(
            &(methods, paths(), query, content_types(), bodies()),
            |(method, path, q, ct, body)| {
                let url = format!("{base}{path}?{q}");
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let res = rt.block_on(
                    http.request(method, &url)
                        .bearer_auth(&token)
                        .header("content-type", ct)
                        .body(body)
                        .send(),
                );
                let res =
                    res.map_err(|e| TestCaseError::fail(format!("no HTTP answer for {url}: {e}")))?;
                prop_assert!(res.status().as_u16() < 600);
                Ok(())
            },
        )
        .unwrap();
    let health = rt
        .block_on(
            http.get(format!("{base}/healthz"))
                .bearer_auth(&token)
                .send(),
        )
        .unwrap();
    assert_eq!(health.status(), 200);
}
