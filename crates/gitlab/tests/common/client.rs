//! Plain HTTP against `/api/v4/`: as nobody, as root (`PRIVATE-TOKEN`), or as a runner.

use harness_gitlab::GitLabHandle;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

/// A reqwest client bound to one GitLab's `/api/v4/`, with root's token or without one.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    base: String,
    private_token: Option<String>,
}

impl Api {
    /// Requests without credentials (what a runner or a stranger sends).
    pub fn anonymous(gitlab: &GitLabHandle) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: format!("{}api/v4/", gitlab.url()),
            private_token: None,
        }
    }

    /// Requests carrying root's personal access token in `PRIVATE-TOKEN`.
    pub fn root(gitlab: &GitLabHandle) -> Self {
        Api {
            private_token: Some(gitlab.root_credentials().personal_access_token),
            ..Api::anonymous(gitlab)
        }
    }

    /// `http://127.0.0.1:PORT/api/v4/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path`, with root's token if this client has it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match &self.private_token {
            Some(token) => request.header("PRIVATE-TOKEN", token),
            None => request,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// `GET path`, answer parsed as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// `method path` with a JSON body.
    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path).json(body).send().await.unwrap()
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(Method::POST, path, body).await
    }

    /// `POST /projects/:id/ci/lint` with `content`, answer parsed as JSON.
    pub async fn lint(&self, project: u64, content: &str) -> Value {
        self.post(
            &format!("projects/{project}/ci/lint"),
            &json!({"content": content}),
        )
        .await
        .json()
        .await
        .unwrap()
    }
}

/// A runner on the wire: the Runner API calls the Go runner makes, with its `glrt-` token.
pub struct RunnerApi {
    pub api: Api,
    pub token: String,
}

impl RunnerApi {
    /// A runner of `gitlab` authenticating with `token`.
    pub fn new(gitlab: &GitLabHandle, token: &str) -> Self {
        RunnerApi {
            api: Api::anonymous(gitlab),
            token: token.to_string(),
        }
    }

    /// `POST /jobs/request` with the runner's token and the `extra` fields (an object).
    pub async fn request(&self, extra: Value) -> Response {
        let body = merged(json!({"token": self.token}), extra);
        self.api.post("jobs/request", &body).await
    }

    /// Asks for a job when none is due: GitLab must answer `204`; returns its
    /// `X-GitLab-Last-Update` (what the runner long-polls with next).
    pub async fn idle(&self) -> String {
        let r = self.request(json!({})).await;
        assert_eq!(r.status(), 204);
        r.headers()["x-gitlab-last-update"]
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The next job, if one is handed out (`201`).
    pub async fn take(&self) -> Option<Value> {
        let r = self.request(json!({})).await;
        if r.status() != 201 {
            return None;
        }
        r.json().await.ok()
    }

    /// `PUT /jobs/:id` with the job's token and the `fields` (an object) of the update.
    pub async fn update(&self, job: &Value, fields: Value) -> Response {
        let body = merged(json!({"token": job["token"]}), fields);
        let path = format!("jobs/{}", job["id"]);
        self.api.send(Method::PUT, &path, &body).await
    }

    /// `POST /jobs/:id/artifacts` with the job's token and `zip` as the `artifacts.zip` part.
    pub async fn upload_artifacts(&self, job: &Value, zip: Vec<u8>) -> Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(zip).file_name("artifacts.zip"),
        );
        self.api
            .request(Method::POST, &format!("jobs/{}/artifacts", job["id"]))
            .header("JOB-TOKEN", job["token"].as_str().unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Reports `job` finished with `state`; GitLab must accept it (`200`).
    pub async fn finish(&self, job: &Value, state: &str) {
        let r = self.update(job, json!({"state": state})).await;
        assert_eq!(r.status(), 200);
    }

    /// Takes the next job, checks its name, finishes it with `state`.
    pub async fn run(&self, name: &str, state: &str) -> Value {
        let job = self
            .take()
            .await
            .unwrap_or_else(|| panic!("expected job {name}"));
        assert_eq!(job["job_info"]["name"], name);
        self.finish(&job, state).await;
        job
    }
}

/// `base` with the fields of the object `extra` added.
fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}
