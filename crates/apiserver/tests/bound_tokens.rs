//! ServiceAccount tokens through the kube crate: a token bound to a pod (what the kubelet asks
//! for the projected `kube-api-access` volume) is for the API server's audience and works until
//! the pod is gone; a token for another audience is refused by the API server and accepted only
//! by a TokenReview for that audience; TokenRequest refuses references to missing objects.

mod support;

use base64::Engine;
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenRequest, TokenReview};
use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use support::TestCluster;

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

fn client_with_token(c: &TestCluster, token: &str) -> kube::Client {
    let pem = c.handle.ca_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let mut cfg = kube::Config::new(c.handle.url().parse().unwrap());
    cfg.root_cert = Some(vec![der]);
    cfg.auth_info.token = Some(token.to_string().into());
    kube::Client::try_from(cfg).unwrap()
}

/// The HTTP code the token gets on a request its identity may not make (403 = authenticated).
async fn code_for(c: &TestCluster, token: &str) -> u16 {
    let pods: Api<Pod> = Api::namespaced(client_with_token(c, token), "kube-system");
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn claims(token: &str) -> Value {
    let body = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

async fn request(sas: &Api<ServiceAccount>, spec: Value) -> Result<String, kube::Error> {
    let tr: TokenRequest = serde_json::from_value(json!({"spec": spec})).unwrap();
    let answer = sas
        .create_token_request("bot", &PostParams::default(), &tr)
        .await?;
    Ok(answer.status.unwrap().token)
}

/// The API error (code, message) a TokenRequest bound to the object `(apiVersion, kind, name)`
/// gets.
async fn refusal_bound_to(
    sas: &Api<ServiceAccount>,
    (api_version, kind, name): (&str, &str, &str),
) -> (u16, String) {
    let bound = json!({"boundObjectRef": {"apiVersion": api_version, "kind": kind, "name": name}});
    api_code(request(sas, bound).await)
}

fn api_code(r: Result<String, kube::Error>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_tokens_end_with_their_object_and_audiences_are_checked() {
    let c = TestCluster::start().await;
    let admin = c.handle.client().await.unwrap();
    let post = PostParams::default();
    Api::<k8s_openapi::api::core::v1::Namespace>::all(admin.clone())
        .create(
            &post,
            &serde_json::from_value(json!({"metadata": {"name": "ci"}})).unwrap(),
        )
        .await
        .unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "ci");
    for name in ["bot", "other"] {
        sas.create(
            &post,
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "ci");
    let pod = |name: &str, sa: &str| -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"serviceAccountName": sa,
            "containers": [{"name": "main", "image": "busybox:1.36"}]}}),
        )
        .unwrap()
    };
    let runner = pods.create(&post, &pod("runner", "bot")).await.unwrap();
    let runner_uid = runner.metadata.uid.clone().unwrap();
    pods.create(&post, &pod("stranger", "other")).await.unwrap();

    // The kubelet's request for the kube-api-access volume: bound to the pod, no audience.
    let pod_ref = json!({"apiVersion": "v1", "kind": "Pod", "name": "runner", "uid": runner_uid});
    let token = request(
        &sas,
        json!({"expirationSeconds": 3607, "boundObjectRef": pod_ref}),
    )
    .await
    .unwrap();
    let cl = claims(&token);
    assert_eq!(cl["aud"], json!([ISSUER]), "{cl}");
    assert_eq!(cl["iss"], ISSUER);
    assert_eq!(cl["kubernetes.io"]["pod"]["name"], "runner");
    assert_eq!(
        code_for(&c, &token).await,
        403,
        "the pod's token authenticates"
    );
    let me = Api::<SelfSubjectReview>::all(client_with_token(&c, &token))
        .create(&post, &SelfSubjectReview::default())
        .await
        .unwrap();
    let info = me.status.unwrap().user_info.unwrap();
    assert_eq!(
        info.username.as_deref(),
        Some("system:serviceaccount:ci:bot")
    );
    assert_eq!(
        info.extra.unwrap()["authentication.kubernetes.io/pod-name"],
        ["runner"]
    );

    // Once the pod is deleted, its token is refused.
    pods.delete("runner", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(code_for(&c, &token).await, 401, "the deleted pod's token");

    // A token for another audience is not the API server's to accept…
    let vault = request(&sas, json!({"audiences": ["vault"]}))
        .await
        .unwrap();
    assert_eq!(claims(&vault)["aud"], json!(["vault"]));
    assert_eq!(code_for(&c, &vault).await, 401, "a token for vault");
    // …but a TokenReview for that audience (what vault asks) accepts it, and only for it.
    let reviews: Api<TokenReview> = Api::all(admin.clone());
    let review = |token: &str, audiences: Value| {
        serde_json::from_value::<TokenReview>(
            json!({"spec": {"token": token, "audiences": audiences}}),
        )
        .unwrap()
    };
    let status = reviews
        .create(&post, &review(&vault, json!(["vault"])))
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.authenticated, Some(true));
    assert_eq!(status.audiences, Some(vec!["vault".to_string()]));
    let status = reviews
        .create(&post, &review(&vault, json!([])))
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.authenticated, Some(false), "{status:?}");

    // A token bound to a secret ends with the secret.
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), "ci");
    secrets
        .create(
            &post,
            &serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap(),
        )
        .await
        .unwrap();
    let bound = request(
        &sas,
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Secret", "name": "s"}}),
    )
    .await
    .unwrap();
    assert_eq!(code_for(&c, &bound).await, 403);
    secrets.delete("s", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        code_for(&c, &bound).await,
        401,
        "the deleted secret's token"
    );

    // TokenRequest refuses what a real server refuses.
    let (code, msg) = refusal_bound_to(&sas, ("v1", "Pod", "runner")).await;
    assert_eq!((code, msg.as_str()), (404, "pods \"runner\" not found"));
    let (code, msg) = refusal_bound_to(&sas, ("v1", "Pod", "stranger")).await;
    assert_eq!(code, 400, "{msg}");
    assert!(
        msg.contains("pod running with different serviceaccount name"),
        "{msg}"
    );
    let (code, msg) = refusal_bound_to(&sas, ("apps/v1", "Deployment", "x")).await;
    assert_eq!(
        (code, msg.as_str()),
        (
            400,
            "cannot bind token to object of type apps/v1, Kind=Deployment"
        )
    );
}
