//! The foundation's services with clients nobody here wrote: Maven in the Maven stand-in image
//! downloading through the harness's Maven service, the sample app's image served by Tomcat, and
//! the docker CLI logging in to, pushing to and pulling from the harness's registry.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::services::maven_repo::{DEBIAN_MAVEN_REPO, MavenRepoHandle};
use harness::services::registry::{RegistryCredentials, RegistryHandle};
use harness_images::catalog::{
    DOCKER_IMAGE, KUBECTL_IMAGE, MAVEN_IMAGE, MAVEN_MIRROR_HOST, MAVEN_MIRROR_PORT, TOMCAT_IMAGE,
};
use harness_images::{ImageSource, PullPolicy};
use support::{ContainerGuard, copy_sample_app, docker, docker_available, docker_ok};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ensure_images(rt: &tokio::runtime::Runtime, images: &[&str]) {
    let provisioner = harness::images::provisioner().unwrap();
    for image in images {
        rt.block_on(provisioner.ensure(image, PullPolicy::IfNotPresent))
            .unwrap_or_else(|e| panic!("{image}: {e}"));
    }
}

/// Runs `mvn clean package` of `app` in the Maven stand-in with `m2` as the local repository
/// (mounted where the tutorial's PVC is), returning Maven's output.
fn mvn_package(
    guard: &ContainerGuard,
    config: &Path,
    maven: &MavenRepoHandle,
    app: &Path,
    m2: &Path,
) -> String {
    let add_host = format!("{MAVEN_MIRROR_HOST}:{}", maven.addr().ip());
    let app_mount = format!("{}:/build", app.display());
    let m2_mount = format!("{}:/home/cache/maven", m2.display());
    docker_ok(
        config,
        &[
            "run",
            "--rm",
            "--label",
            &guard.label(),
            "--network",
            "host",
            "--add-host",
            &add_host,
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
        ],
    )
}

fn downloads(maven_output: &str) -> usize {
    maven_output
        .lines()
        .filter(|l| l.contains("Downloaded from harness-maven-mirror"))
        .count()
}

#[test]
fn maven_downloads_through_the_service_once_then_uses_the_cache() {
    if !docker_available() {
        eprintln!("skipped: no Docker engine answers (run `harness doctor --fix`)");
        return;
    }
    let rt = runtime();
    ensure_images(&rt, &[MAVEN_IMAGE]);
    let maven = rt
        .block_on(MavenRepoHandle::start_on_own_loopback(
            MAVEN_MIRROR_PORT,
            Path::new(DEBIAN_MAVEN_REPO),
        ))
        .unwrap();
    let guard = ContainerGuard::new("test-maven");
    let tmp = tempfile::tempdir().unwrap();
    let app = copy_sample_app(tmp.path());
    let m2 = tmp.path().join("m2");
    std::fs::create_dir_all(&m2).unwrap();

    let first = mvn_package(&guard, tmp.path(), &maven, &app, &m2);
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
    let second = mvn_package(&guard, tmp.path(), &maven, &app, &m2);
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
    drop(guard);
    assert!(ContainerGuard::new("test-maven").remaining().is_empty());
}

#[test]
fn stand_ins_run_the_tools_the_tutorial_calls() {
    if !docker_available() {
        eprintln!("skipped: no Docker engine answers (run `harness doctor --fix`)");
        return;
    }
    let rt = runtime();
    ensure_images(&rt, &[MAVEN_IMAGE, DOCKER_IMAGE, KUBECTL_IMAGE]);
    let guard = ContainerGuard::new("test-standins");
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path();
    let label = guard.label();
    let mvn = docker_ok(
        config,
        &[
            "run",
            "--rm",
            "--label",
            &label,
            MAVEN_IMAGE,
            "mvn",
            "-B",
            "-v",
        ],
    );
    assert!(mvn.contains("Apache Maven 3"), "{mvn}");
    let dockerv = docker_ok(
        config,
        &[
            "run",
            "--rm",
            "--label",
            &label,
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            DOCKER_IMAGE,
            "docker",
            "version",
        ],
    );
    assert!(
        dockerv.contains("Server:") && dockerv.contains("Client:"),
        "{dockerv}"
    );
    let kubectl = docker_ok(
        config,
        &[
            "run",
            "--rm",
            "--label",
            &label,
            KUBECTL_IMAGE,
            "version",
            "--client",
        ],
    );
    assert!(kubectl.contains("Client Version: v1."), "{kubectl}");
    let user = docker_ok(
        config,
        &[
            "run",
            "--rm",
            "--label",
            &label,
            "--entrypoint",
            "id",
            KUBECTL_IMAGE,
            "-u",
        ],
    );
    assert_eq!(user.trim(), "1001", "bitnami/kubectl runs as 1001");

    // Asking again is answered from the cache, and the stand-in says what it is.
    let provisioner = harness::images::provisioner().unwrap();
    let again = rt
        .block_on(provisioner.ensure(DOCKER_IMAGE, PullPolicy::IfNotPresent))
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
    let description = docker_ok(
        config,
        &[
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"org.opencontainers.image.description\"}}",
            DOCKER_IMAGE,
        ],
    );
    assert!(description.starts_with("STAND-IN"), "{description}");
}

#[test]
fn sample_app_serves_http_and_round_trips_through_the_registry() {
    if !docker_available() {
        eprintln!("skipped: no Docker engine answers (run `harness doctor --fix`)");
        return;
    }
    let rt = runtime();
    ensure_images(&rt, &[MAVEN_IMAGE, TOMCAT_IMAGE]);
    let guard = ContainerGuard::new("test-registry");
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let maven = rt
        .block_on(MavenRepoHandle::start_on_own_loopback(
            MAVEN_MIRROR_PORT,
            Path::new(DEBIAN_MAVEN_REPO),
        ))
        .unwrap();
    let app = copy_sample_app(tmp.path());
    let m2 = tmp.path().join("m2");
    std::fs::create_dir_all(&m2).unwrap();
    mvn_package(&guard, &config, &maven, &app, &m2);

    let credentials = RegistryCredentials {
        username: "gitlab-ci".into(),
        password: "s3cret-registry-pass".into(),
    };
    let registry = rt
        .block_on(RegistryHandle::start(
            &tmp.path().join("registry"),
            credentials.clone(),
        ))
        .unwrap();
    let tag = format!("{}/demo/sample-java-app:{}", registry.host(), guard.id);
    let app_dir = app.display().to_string();
    docker_ok(&config, &["build", "-q", "-t", &tag, &app_dir]);
    let _image = ImageGuard(tag.clone());

    // The image answers HTTP 200 on / with its version.
    let container = docker_ok(
        &config,
        &[
            "run",
            "-d",
            "--label",
            &guard.label(),
            "-p",
            "127.0.0.1::8080",
            &tag,
        ],
    );
    let port = docker_ok(&config, &["port", container.trim(), "8080/tcp"]);
    let url = format!("http://{}/", port.lines().next().unwrap().trim());
    let body = rt.block_on(get_within(&url, Duration::from_secs(90)));
    assert!(
        body.starts_with("Hello from sample-java-app 1.0.0"),
        "{body}"
    );

    // Registry: no credentials, a wrong password, then the right ones.
    let anonymous = docker(&config, &["push", &tag]);
    assert!(!anonymous.status.success());
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("no basic auth credentials"));
    let wrong = docker(
        &config,
        &[
            "login",
            &registry.host(),
            "-u",
            &credentials.username,
            "-p",
            "wrong",
        ],
    );
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let login = docker_ok(
        &config,
        &[
            "login",
            &registry.host(),
            "-u",
            &credentials.username,
            "-p",
            &credentials.password,
        ],
    );
    assert!(login.contains("Login Succeeded"));
    docker_ok(&config, &["push", &tag]);
    let tags = rt.block_on(registry.tags("demo/sample-java-app")).unwrap();
    assert_eq!(tags, vec![guard.id.clone()]);
    assert!(
        rt.block_on(registry.repositories())
            .unwrap()
            .contains(&"demo/sample-java-app".to_owned())
    );

    // Remove it locally, pull it back from the registry.
    docker_ok(&config, &["rm", "-f", container.trim()]);
    docker_ok(&config, &["rmi", &tag]);
    assert!(
        !docker(&config, &["image", "inspect", &tag])
            .status
            .success()
    );
    docker_ok(&config, &["pull", &tag]);
    docker_ok(&config, &["image", "inspect", &tag]);
    drop(guard);
    assert!(ContainerGuard::new("test-registry").remaining().is_empty());
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
