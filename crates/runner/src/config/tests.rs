use super::*;

const SEED: &str = include_str!("../../../../fixtures/tutorial/config.toml");

#[test]
fn tutorial_listing_parses_with_its_volumes() {
    let config = parse(Path::new("tutorial-config.toml"), SEED).unwrap();
    assert_eq!(config.concurrent, 10);
    assert_eq!(config.check_interval, 30);
    assert_eq!(config.listen_address.as_deref(), Some("[::]:9252"));
    let runner = &config.runners[0];
    assert_eq!(runner.output_limit_bytes(), 4096 * 1024);
    let k = runner.kubernetes.as_ref().unwrap();
    assert_eq!(k.namespace, "gitlab-runners");
    assert_eq!(k.service_account, "gitlab");
    assert!(k.privileged);
    assert_eq!(k.volumes.pvc[0].name, "gitlab-runner-pvc");
    assert_eq!(k.volumes.pvc[0].mount_path, "/home/cache/maven");
    assert_eq!(k.volumes.host_path[0].mount_path, "/var/run/docker.sock");
    assert_eq!(k.volumes.host_path[0].host_path, None);
}

#[test]
fn writing_then_reading_keeps_every_field() {
    let mut config = parse(Path::new("seed"), SEED).unwrap();
    let k = config.runners[0].kubernetes.as_mut().unwrap();
    k.pull_policy = vec!["if-not-present".into()];
    k.node_selector
        .insert("kubernetes.io/os".into(), "linux".into());
    k.image_pull_secrets = vec!["regcred".into()];
    config.runners[0].environment = vec!["A=\"b\"".into()];
    let text = to_toml_string(&config);
    let back = parse(Path::new("written"), &text).unwrap();
    assert_eq!(back, config);
}

#[test]
fn volumes_and_maps_are_written_as_the_go_encoder_nests_them() {
    let mut config = parse(Path::new("seed"), SEED).unwrap();
    config.runners[0]
        .kubernetes
        .as_mut()
        .unwrap()
        .pod_labels
        .insert("team.example/name".into(), "ci".into());
    let text = to_toml_string(&config);
    assert!(
        text.contains(
            "    [runners.kubernetes.pod_labels]\n      \"team.example/name\" = \"ci\"\n"
        )
    );
    assert!(text.contains(
        "    [runners.kubernetes.volumes]\n\n      [[runners.kubernetes.volumes.host_path]]\n        name = \"docker\"\n        mount_path = \"/var/run/docker.sock\"\n\n      [[runners.kubernetes.volumes.pvc]]\n        name = \"gitlab-runner-pvc\"\n"
    ));
}

#[test]
fn a_bad_file_names_itself_and_the_line() {
    let err = parse(Path::new("/x/config.toml"), "concurrent = \"ten\"\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("/x/config.toml"), "{msg}");
}

#[test]
fn pull_policy_accepts_the_later_list_form() {
    let config = parse(
        Path::new("c"),
        "concurrent = 1\n[[runners]]\n[runners.kubernetes]\npull_policy = [\"always\", \"if-not-present\"]\n",
    )
    .unwrap();
    let k = config.runners[0].kubernetes.as_ref().unwrap();
    assert_eq!(k.pull_policy, vec!["always", "if-not-present"]);
}

#[test]
fn short_token_skips_the_glrt_prefix() {
    assert_eq!(model::short_token("eRskGn8Q-g4FZnZib63q"), "eRskGn8Q");
    assert_eq!(model::short_token("glrt-t1_abcdefghijk"), "abcdefgh");
    assert_eq!(model::short_token("glrt-XYZ"), "XYZ");
}

#[test]
fn every_volume_kind_and_security_context_key_is_written() {
    let config = parse(Path::new("volumes"), VOLUMES_INPUT).unwrap();
    let text = to_toml_string(&config);
    let at = text
        .find("    [runners.kubernetes.pod_security_context]")
        .unwrap();
    assert_eq!(&text[at..], VOLUMES_WRITTEN);
}

const VOLUMES_INPUT: &str = concat!(
    "concurrent = 1\n",
    "[[runners]]\n",
    "name = \"x\"\n",
    "url = \"http://u\"\n",
    "token = \"t\"\n",
    "executor = \"kubernetes\"\n",
    "[runners.kubernetes]\n",
    "namespace = \"ns\"\n",
    "[runners.kubernetes.pod_security_context]\n",
    "fs_group = 1\n",
    "run_as_group = 2\n",
    "run_as_non_root = false\n",
    "run_as_user = 3\n",
    "[[runners.kubernetes.volumes.host_path]]\n",
    "name = \"hp\"\n",
    "mount_path = \"/hp\"\n",
    "read_only = true\n",
    "host_path = \"/host\"\n",
    "[[runners.kubernetes.volumes.host_path]]\n",
    "name = \"hp2\"\n",
    "mount_path = \"/hp2\"\n",
    "[[runners.kubernetes.volumes.pvc]]\n",
    "name = \"p\"\n",
    "mount_path = \"/p\"\n",
    "read_only = true\n",
    "[[runners.kubernetes.volumes.config_map]]\n",
    "name = \"cm\"\n",
    "mount_path = \"/cm\"\n",
    "read_only = true\n",
    "[[runners.kubernetes.volumes.config_map]]\n",
    "name = \"cm2\"\n",
    "mount_path = \"/cm2\"\n",
    "[[runners.kubernetes.volumes.secret]]\n",
    "name = \"s\"\n",
    "mount_path = \"/s\"\n",
    "[[runners.kubernetes.volumes.empty_dir]]\n",
    "name = \"e\"\n",
    "mount_path = \"/e\"\n",
    "medium = \"Memory\"\n",
    "[[runners.kubernetes.volumes.empty_dir]]\n",
    "name = \"e2\"\n",
    "mount_path = \"/e2\"\n",
);

const VOLUMES_WRITTEN: &str = concat!(
    "    [runners.kubernetes.pod_security_context]\n",
    "      fs_group = 1\n",
    "      run_as_group = 2\n",
    "      run_as_non_root = false\n",
    "      run_as_user = 3\n",
    "    [runners.kubernetes.volumes]\n",
    "\n",
    "      [[runners.kubernetes.volumes.host_path]]\n",
    "        name = \"hp\"\n",
    "        mount_path = \"/hp\"\n",
    "        read_only = true\n",
    "        host_path = \"/host\"\n",
    "\n",
    "      [[runners.kubernetes.volumes.host_path]]\n",
    "        name = \"hp2\"\n",
    "        mount_path = \"/hp2\"\n",
    "\n",
    "      [[runners.kubernetes.volumes.pvc]]\n",
    "        name = \"p\"\n",
    "        mount_path = \"/p\"\n",
    "        read_only = true\n",
    "\n",
    "      [[runners.kubernetes.volumes.config_map]]\n",
    "        name = \"cm\"\n",
    "        mount_path = \"/cm\"\n",
    "        read_only = true\n",
    "\n",
    "      [[runners.kubernetes.volumes.config_map]]\n",
    "        name = \"cm2\"\n",
    "        mount_path = \"/cm2\"\n",
    "\n",
    "      [[runners.kubernetes.volumes.secret]]\n",
    "        name = \"s\"\n",
    "        mount_path = \"/s\"\n",
    "\n",
    "      [[runners.kubernetes.volumes.empty_dir]]\n",
    "        name = \"e\"\n",
    "        mount_path = \"/e\"\n",
    "        medium = \"Memory\"\n",
    "\n",
    "      [[runners.kubernetes.volumes.empty_dir]]\n",
    "        name = \"e2\"\n",
    "        mount_path = \"/e2\"\n",
);
