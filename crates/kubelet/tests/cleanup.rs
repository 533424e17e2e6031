//! `remove_environment_containers` removes exactly one environment's containers.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptionsBuilder;
use harness_images::catalog::{CatalogInputs, UBUNTU_IMAGE, recipes};
use harness_images::{ImageProvisioner, PullPolicy};
use harness_kubelet::{environment_containers, labels, remove_environment_containers};

async fn create(docker: &Docker, env: &str) -> String {
    let name = format!("kubelet-cleanup-{env}");
    let body = ContainerCreateBody {
        image: Some(UBUNTU_IMAGE.into()),
        cmd: Some(vec!["sleep".into(), "60".into()]),
        labels: Some(HashMap::from([(labels::ENV.to_owned(), env.to_owned())])),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(&name).build();
    docker
        .create_container(Some(options), body)
        .await
        .expect("create")
        .id
}

async fn count(docker: &Docker, env: &str) -> usize {
    environment_containers(docker, env)
        .await
        .expect("list")
        .len()
}

#[tokio::test]
async fn only_the_named_environment_is_removed() {
    if !harness_test_support::can_run(harness_images::engine_unavailable().await) {
        return;
    }
    let docker = Docker::connect_with_local_defaults().expect("the Docker engine answered");
    let work = tempfile::tempdir().unwrap();
    let provisioner = ImageProvisioner::new(
        docker.clone(),
        work.path().to_path_buf(),
        recipes(&CatalogInputs::default()),
    )
    .with_pulls(false);
    provisioner
        .ensure(UBUNTU_IMAGE, PullPolicy::IfNotPresent)
        .await
        .expect("ubuntu stand-in");
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (ours, theirs) = (
        format!("cleanup-a-{}", &suffix[..8]),
        format!("cleanup-b-{}", &suffix[..8]),
    );
    create(&docker, &ours).await;
    create(&docker, &theirs).await;
    assert_eq!(
        remove_environment_containers(&docker, &ours).await.unwrap(),
        1
    );
    assert_eq!(count(&docker, &ours).await, 0);
    assert_eq!(
        count(&docker, &theirs).await,
        1,
        "another environment's container was touched"
    );
    assert_eq!(
        remove_environment_containers(&docker, &theirs)
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&docker, &theirs).await, 0);
}
