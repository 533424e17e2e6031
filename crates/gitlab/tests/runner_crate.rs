//! The Collabora `gitlab-runner` crate (a client nobody here wrote) picks jobs, streams a trace
//! that echoes a masked variable, uploads an artifact and downloads it in the next stage.

mod common;

use std::borrow::Cow;
use std::io::Read;

use common::*;
use gitlab_runner::job::Job;
use gitlab_runner::{GitlabLayer, JobHandler, JobResult, Phase, RunnerBuilder, UploadableFile};
use harness_gitlab::{Status, Variable};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;

const CI: &str = r#"
stages: [build, test]
build:
  stage: build
  tags: [rust-runner]
  script:
    - echo "token is $SECRET_TOKEN"
  artifacts:
    paths: [target/*.war]
    expire_in: 1 week
check:
  stage: test
  tags: [rust-runner]
  script:
    - unzip -l artifacts.zip
"#;

const SECRET: &str = "s3cr3t-Value_1234";
const WAR: &[u8] = b"PK-not-really-a-war";

struct War;

#[async_trait::async_trait]
impl UploadableFile for War {
    type Data<'a> = &'a [u8];

    fn get_path(&self) -> Cow<'_, str> {
        "target/hello.war".into()
    }

    async fn get_data(&self) -> Result<&'_ [u8], ()> {
        Ok(WAR)
    }
}

/// Build job: echoes its script with variables expanded, like a shell would.
struct Build {
    job: Job,
}

#[async_trait::async_trait]
impl JobHandler<War> for Build {
    async fn step(&mut self, script: &[String], _phase: Phase) -> JobResult {
        for line in script {
            let secret = self
                .job
                .variable("SECRET_TOKEN")
                .map(|v| v.value().to_string())
                .unwrap_or_default();
            let expanded = line.replace("$SECRET_TOKEN", &secret);
            self.job.trace(format!(
                "$ {line}\n{}\n",
                expanded.trim_start_matches("echo ").trim_matches('"')
            ));
        }
        Ok(())
    }

    async fn get_uploadable_files(&mut self) -> Result<Box<dyn Iterator<Item = War> + Send>, ()> {
        Ok(Box::new(std::iter::once(War)))
    }
}

/// Check job: passes only if the build job's artifact arrived intact.
struct Check {
    job: Job,
    found: bool,
}

#[async_trait::async_trait]
impl JobHandler for Check {
    async fn step(&mut self, _script: &[String], _phase: Phase) -> JobResult {
        self.job.trace(format!("artifact found: {}\n", self.found));
        if self.found { Ok(()) } else { Err(()) }
    }
}

async fn check(job: Job) -> Result<Check, ()> {
    let mut found = false;
    for dep in job.dependencies() {
        if let Ok(Some(mut artifact)) = dep.download().await
            && let Some(mut f) = artifact.file("target/hello.war")
        {
            let mut data = Vec::new();
            found = f.read_to_end(&mut data).is_ok() && data == WAR;
        }
    }
    Ok(Check { job, found })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_runner_crate_runs_a_pipeline() {
    let Some((tmp, gitlab, project)) = start_with_project("demo/crate").await else {
        return;
    };
    gitlab
        .set_variable(&project, Variable::new("SECRET_TOKEN", SECRET).masked())
        .await
        .unwrap();
    let pipeline = push_repo(tmp.path(), &gitlab, &project, "master", &ci_file(CI))
        .await
        .pipeline;
    let jobs = gitlab.jobs(pipeline.id);
    assert_eq!(jobs.len(), 2);

    let runner = gitlab.create_runner("rust runner", &["rust-runner"], false);
    std::fs::create_dir_all(tmp.path().join("builds")).unwrap();
    let (layer, run_list) = GitlabLayer::new();
    let subscriber = Registry::default().with(layer);
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut client = RunnerBuilder::new(
        url::Url::parse(&gitlab.url()).unwrap(),
        runner.token.clone(),
        tmp.path().join("builds"),
        run_list,
    )
    .build()
    .await;

    assert!(
        client
            .request_job(|job| async move { Ok(Build { job }) })
            .await
            .unwrap()
    );
    client.drain().await;
    let build = gitlab
        .wait_job_status(jobs[0].id, Status::Success, TIMEOUT)
        .await
        .unwrap();
    let trace = gitlab.trace(build.id).unwrap();
    assert!(trace.contains("token is [MASKED]"), "trace: {trace}");
    assert!(!trace.contains(SECRET), "a masked value leaked: {trace}");
    assert_eq!(build.artifacts[0].file_type, "archive");
    assert!(build.artifacts[0].expire_at.is_some());
    let zip_bytes = gitlab.artifacts(build.id).await.unwrap();
    let via_api = Api::root(&gitlab)
        .get(&format!(
            "projects/{}/jobs/{}/artifacts",
            project.id, build.id
        ))
        .await;
    assert_eq!(via_api.status(), 200);
    assert_eq!(via_api.bytes().await.unwrap().to_vec(), zip_bytes);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut war = Vec::new();
    archive
        .by_name("target/hello.war")
        .unwrap()
        .read_to_end(&mut war)
        .unwrap();
    assert_eq!(war, WAR);

    assert!(client.request_job(check).await.unwrap());
    client.drain().await;
    let checked = gitlab
        .wait_job_status(jobs[1].id, Status::Success, TIMEOUT)
        .await
        .unwrap();
    assert!(
        gitlab
            .trace(checked.id)
            .unwrap()
            .contains("artifact found: true")
    );
    let done = gitlab.wait_pipeline(pipeline.id, TIMEOUT).await.unwrap();
    assert_eq!(done.status, Status::Success);

    // Nothing left: the crate gets a 204.
    assert!(
        !client
            .request_job(|job| async move { Ok(Build { job }) })
            .await
            .unwrap()
    );
}
