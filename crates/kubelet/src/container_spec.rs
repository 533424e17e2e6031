//! A pod's container spec turned into a Docker create request.
//!
//! Kubernetes semantics kept here: `command` replaces the image ENTRYPOINT (and drops its CMD),
//! `args` replaces CMD, `$(VAR)` references are expanded, `stdin`/`stdinOnce`/`tty` map to
//! `OpenStdin`/`StdinOnce`/`Tty`. Every container uses the host network.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use k8s_openapi::api::core::v1::{Container, Pod, SecurityContext};

use crate::env::expand;
use crate::quantity;

/// How `privileged: true` is run. The engine on the target machines lacks CAP_SYS_RESOURCE, so
/// Docker's `--privileged` fails there ("unable to apply caps"); every capability except
/// SYS_RESOURCE plus unconfined seccomp/AppArmor works and is what privileged jobs need. Device
/// access (`/dev/*` of the host) is not given.
pub(crate) const PRIVILEGED_CAP_DROP: &str = "SYS_RESOURCE";

/// Everything needed to create one container of a pod.
pub(crate) struct ContainerPlan<'a> {
    pub pod: &'a Pod,
    pub container: &'a Container,
    /// The image reference as resolved by the provisioner.
    pub image: &'a str,
    pub env: &'a [(String, String)],
    pub binds: Vec<String>,
    pub labels: HashMap<String, String>,
    pub extra_hosts: Vec<String>,
}

/// The Docker create body for `plan`.
pub(crate) fn create_body(plan: ContainerPlan<'_>) -> ContainerCreateBody {
    let c = plan.container;
    let vars = plan.env;
    let command: Option<Vec<String>> = c
        .command
        .as_ref()
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().map(|s| expand(s, vars)).collect());
    let args: Option<Vec<String>> = c
        .args
        .as_ref()
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().map(|s| expand(s, vars)).collect());
    let cmd = match (&command, args) {
        (_, Some(args)) => Some(args),
        (Some(_), None) => Some(Vec::new()),
        (None, None) => None,
    };
    let pod_sc = plan
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref());
    let sc: Option<&SecurityContext> = c.security_context.as_ref();
    let run_as_user = sc
        .and_then(|s| s.run_as_user)
        .or(pod_sc.and_then(|s| s.run_as_user));
    let run_as_group = sc
        .and_then(|s| s.run_as_group)
        .or(pod_sc.and_then(|s| s.run_as_group));
    let user = match (run_as_user, run_as_group) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, _) => None,
    };
    let mut group_add: Vec<String> = Vec::new();
    if let Some(pod_sc) = pod_sc {
        group_add.extend(pod_sc.fs_group.map(|g| g.to_string()));
        group_add.extend(
            pod_sc
                .supplemental_groups
                .iter()
                .flatten()
                .map(|g| g.to_string()),
        );
    }
    let privileged = sc.and_then(|s| s.privileged).unwrap_or(false);
    let mut cap_add: Vec<String> = Vec::new();
    let mut cap_drop: Vec<String> = Vec::new();
    let mut security_opt: Vec<String> = Vec::new();
    if privileged {
        cap_add.push("ALL".into());
        cap_drop.push(PRIVILEGED_CAP_DROP.into());
        security_opt.extend([
            "seccomp=unconfined".to_owned(),
            "apparmor=unconfined".to_owned(),
        ]);
    }
    if let Some(caps) = sc.and_then(|s| s.capabilities.as_ref()) {
        cap_add.extend(
            caps.add
                .iter()
                .flatten()
                .map(|c| c.trim_start_matches("CAP_").to_owned()),
        );
        cap_drop.extend(
            caps.drop
                .iter()
                .flatten()
                .map(|c| c.trim_start_matches("CAP_").to_owned()),
        );
    }
    if sc.and_then(|s| s.allow_privilege_escalation) == Some(false) {
        security_opt.push("no-new-privileges".into());
    }
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let memory = limits
        .and_then(|l| l.get("memory"))
        .and_then(|q| quantity::parse_bytes(&q.0));
    let nano_cpus = limits
        .and_then(|l| l.get("cpu"))
        .and_then(|q| quantity::parse_nano_cpus(&q.0));
    let stdin = c.stdin.unwrap_or(false);
    ContainerCreateBody {
        image: Some(plan.image.to_owned()),
        entrypoint: command,
        cmd,
        env: Some(vars.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
        user,
        tty: Some(c.tty.unwrap_or(false)),
        open_stdin: Some(stdin),
        stdin_once: Some(stdin && c.stdin_once.unwrap_or(false)),
        attach_stdin: Some(false),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        labels: Some(plan.labels),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            binds: Some(plan.binds),
            extra_hosts: Some(plan.extra_hosts),
            group_add: (!group_add.is_empty()).then_some(group_add),
            cap_add: (!cap_add.is_empty()).then_some(cap_add),
            cap_drop: (!cap_drop.is_empty()).then_some(cap_drop),
            security_opt: (!security_opt.is_empty()).then_some(security_opt),
            readonly_rootfs: sc.and_then(|s| s.read_only_root_filesystem),
            memory,
            memory_swap: memory,
            nano_cpus,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSecurityContext, PodSpec};

    fn plan_for(container: Container, pod_sc: Option<PodSecurityContext>) -> ContainerCreateBody {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![container.clone()],
                security_context: pod_sc,
                ..Default::default()
            }),
            ..Default::default()
        };
        let env = vec![("GREETING".to_string(), "hi".to_string())];
        create_body(ContainerPlan {
            pod: &pod,
            container: &container,
            image: "ubuntu:16.04",
            env: &env,
            binds: vec![],
            labels: HashMap::new(),
            extra_hosts: vec![],
        })
    }

    #[test]
    fn command_replaces_entrypoint_and_drops_image_cmd() {
        let body = plan_for(
            Container {
                name: "c".into(),
                command: Some(vec!["sh".into(), "-c".into(), "echo $(GREETING)".into()]),
                ..Default::default()
            },
            None,
        );
        assert_eq!(
            body.entrypoint,
            Some(vec!["sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(body.cmd, Some(vec![]));
        let args_only = plan_for(
            Container {
                name: "c".into(),
                args: Some(vec!["x".into()]),
                ..Default::default()
            },
            None,
        );
        assert_eq!(args_only.entrypoint, None);
        assert_eq!(args_only.cmd, Some(vec!["x".into()]));
    }

    #[test]
    fn security_context_maps_user_groups_and_privileged() {
        let body = plan_for(
            Container {
                name: "c".into(),
                stdin: Some(true),
                security_context: Some(SecurityContext {
                    privileged: Some(true),
                    run_as_user: Some(1001),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Some(PodSecurityContext {
                run_as_group: Some(7),
                fs_group: Some(2000),
                ..Default::default()
            }),
        );
        assert_eq!(body.user.as_deref(), Some("1001:7"));
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.stdin_once, Some(false));
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(host.group_add, Some(vec!["2000".into()]));
        assert_eq!(host.privileged, None);
        let caps = host.cap_add.unwrap();
        assert_eq!(caps, vec!["ALL".to_string()]);
        assert_eq!(host.cap_drop, Some(vec!["SYS_RESOURCE".to_string()]));
    }
}
