//! The foundation's services with clients nobody here wrote: Maven in the Maven stand-in image
//! downloading through the harness's Maven service, the sample app's image served by Tomcat, and
//! the docker CLI logging in to, pushing to and pulling from the harness's registry.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::services::maven_repo::MavenRepoHandle;
use harness::services::registry::{RegistryCredentials, RegistryHandle};
use harness_images::catalog::{DOCKER_IMAGE, KUBECTL_IMAGE, MAVEN_IMAGE, TOMCAT_IMAGE};
use harness_images::{ImageSource, PullPolicy};
use support::DockerTest;

/// Runs `mvn clean package` of `app` in the Maven stand-in with `m2` as the local repository
/// (mounted where the tutorial's PVC is), returning Maven's output.
fn mvn_package(t: &DockerTest, maven: &MavenRepoHandle, app: &Path, m2: &Path) -> String {
    let mirror = format!(
        "{}={}",
        harness::environment::MAVEN_MIRROR_VARIABLE,
        maven.url()
    );
    let app_mount = format!("{}:/build", app.display());
    let m2_mount = format!("{}:/home/cache/maven", m2.display());
    t.run_rm(&[
        "--network",
        "host",
        "-e",
        &mirror,
        "-v",
        &app_mount,
        "-v",
        &m2_mount,
        "-w",
        "/build",
        MAVEN_IMAGE,
        "mvn",
        "-B",
        "-Dmaven.repo.local=/home/cache/maven",
        "clean",
        "package",
        "-Dmaven.test.skip=true",
    ])
}

fn downloads(maven_output: &str) -> usize {
    maven_output
        .lines()
        .filter(|l| l.contains("Downloaded from harness-maven-mirror"))
        .count()
}

#[test]
fn maven_downloads_through_the_service_once_then_uses_the_cache() {
    let Some(t) = DockerTest::start("test-maven", &[MAVEN_IMAGE]) else {
        return;
    };
    let maven = t.start_maven();
    let (app, m2) = t.sample_app_and_m2();

    let first = mvn_package(&t, &maven, &app, &m2);
    let first_downloads = downloads(&first);
    assert!(first.contains("BUILD SUCCESS"), "{first}");
    assert!(app.join("target/sample-java-app.war").is_file());
    assert!(
        first_downloads > 20,
        "expected the plugins to be downloaded, got {first_downloads}:\n{first}"
    );
    assert!(maven.downloads() as usize >= first_downloads);
    assert!(
        m2.join("org/apache/maven/plugins/maven-war-plugin/3.3.2")
            .is_dir(),
        "war plugin in the local repository"
    );
    eprintln!("first build: {first_downloads} downloads");

    let served = maven.downloads();
    let second = mvn_package(&t, &maven, &app, &m2);
    assert!(second.contains("BUILD SUCCESS"), "{second}");
    assert_eq!(
        downloads(&second),
        0,
        "second build must download nothing:\n{second}"
    );
    assert_eq!(
        maven.downloads(),
        served,
        "the service served nothing the second time"
    );
    t.assert_cleaned_up();
}

#[test]
fn stand_ins_run_the_tools_the_tutorial_calls() {
    let images = [MAVEN_IMAGE, DOCKER_IMAGE, KUBECTL_IMAGE];
    let Some(t) = DockerTest::start("test-standins", &images) else {
        return;
    };
    let mvn = t.run_rm(&[MAVEN_IMAGE, "mvn", "-B", "-v"]);
    assert!(mvn.contains("Apache Maven 3"), "{mvn}");
    let dockerv = t.run_rm(&[
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        DOCKER_IMAGE,
        "docker",
        "version",
    ]);
    assert!(
        dockerv.contains("Server:") && dockerv.contains("Client:"),
        "{dockerv}"
    );
    let kubectl = t.run_rm(&[KUBECTL_IMAGE, "version", "--client"]);
    assert!(kubectl.contains("Client Version: v1."), "{kubectl}");
    let user = t.run_rm(&["--entrypoint", "id", KUBECTL_IMAGE, "-u"]);
    assert_eq!(user.trim(), "1001", "bitnami/kubectl runs as 1001");

    // Asking again is answered from the cache, and the stand-in says what it is.
    let provisioner = harness::images::provisioner().unwrap();
    let again =
        t.rt.block_on(provisioner.ensure(DOCKER_IMAGE, PullPolicy::IfNotPresent))
            .unwrap();
    assert!(
        matches!(
            again.source,
            ImageSource::StandIn {
                built_now: false,
                ..
            }
        ),
        "{:?}",
        again.source
    );
    let description = t.docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.opencontainers.image.description\"}}",
        DOCKER_IMAGE,
    ]);
    assert!(description.starts_with("STAND-IN"), "{description}");
}

#[test]
fn sample_app_serves_http_and_round_trips_through_the_registry() {
    let Some(t) = DockerTest::start("test-registry", &[MAVEN_IMAGE, TOMCAT_IMAGE]) else {
        return;
    };
    let maven = t.start_maven();
    let (app, m2) = t.sample_app_and_m2();
    mvn_package(&t, &maven, &app, &m2);

    let credentials = RegistryCredentials {
        username: "gitlab-ci".into(),
        password: "s3cret-registry-pass".into(),
    };
    let registry =
        t.rt.block_on(RegistryHandle::start(
            &t.tmp.path().join("registry"),
            credentials.clone(),
        ))
        .unwrap();
    let tag = format!("{}/demo/sample-java-app:{}", registry.host(), t.guard.id);
    let app_dir = app.display().to_string();
    t.docker_ok(&["build", "-q", "-t", &tag, &app_dir]);
    let _image = ImageGuard(tag.clone());

    // The image answers HTTP 200 on / with its version.
    let container = t.docker_ok(&[
        "run",
        "-d",
        "--label",
        &t.guard.label(),
        "-p",
        "127.0.0.1::8080",
        &tag,
    ]);
    let port = t.docker_ok(&["port", container.trim(), "8080/tcp"]);
    let url = format!("http://{}/", port.lines().next().unwrap().trim());
    let body = t.rt.block_on(get_within(&url, Duration::from_secs(90)));
    assert!(
        body.starts_with("Hello from sample-java-app 1.0.0"),
        "{body}"
    );

    // Registry: no credentials, a wrong password, then the right ones.
    let anonymous = t.docker(&["push", &tag]);
    assert!(!anonymous.status.success());
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("no basic auth credentials"));
    let wrong = t.docker(&[
        "login",
        &registry.host(),
        "-u",
        &credentials.username,
        "-p",
        "wrong",
    ]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let login = t.docker_ok(&[
        "login",
        &registry.host(),
        "-u",
        &credentials.username,
        "-p",
        &credentials.password,
    ]);
    assert!(login.contains("Login Succeeded"));
    t.docker_ok(&["push", &tag]);
    let tags =
        t.rt.block_on(registry.tags("demo/sample-java-app"))
            .unwrap();
    assert_eq!(tags, vec![t.guard.id.clone()]);
    assert!(
        t.rt.block_on(registry.repositories())
            .unwrap()
            .contains(&"demo/sample-java-app".to_owned())
    );

    // Remove it locally, pull it back from the registry.
    t.docker_ok(&["rm", "-f", container.trim()]);
    t.docker_ok(&["rmi", &tag]);
    assert!(!t.docker(&["image", "inspect", &tag]).status.success());
    t.docker_ok(&["pull", &tag]);
    t.docker_ok(&["image", "inspect", &tag]);
    t.assert_cleaned_up();
}

async fn get_within(url: &str, limit: Duration) -> String {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status() == 200
        {
            return response.text().await.unwrap();
        }
        assert!(
            started.elapsed() < limit,
            "{url} did not answer 200 within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}
