//! Stage scripts, piped to a shell in the `build` or `helper` container.
//!
//! Scripts are POSIX sh (bash runs them too). Each is wrapped in `{ … }` so the shell parses the
//! whole script before running it: a job command that reads stdin cannot swallow the rest.
//! Helper stages start with `umask 0000` so files they create (the checkout, extracted
//! artifacts) stay writable for a build image running as another user.

use std::fmt::Write as _;

use super::context::JobContext;
use crate::api::{ArtifactSpec, Step};

/// Which container a stage runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// The job image.
    Build,
    /// The helper image.
    Helper,
}

impl Container {
    /// Container name in the pod.
    pub fn name(self) -> &'static str {
        match self {
            Container::Build => "build",
            Container::Helper => "helper",
        }
    }
}

/// One stage to run.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Stage name (`get_sources`, `build_script`, …).
    pub name: &'static str,
    /// Where it runs.
    pub container: Container,
    /// The script.
    pub script: String,
}

/// Quotes `s` for POSIX sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn prologue(out: &mut String, umask: bool) {
    out.push_str("{\n");
    out.push_str("(set -o pipefail) 2>/dev/null && set -o pipefail\nset -e\n");
    if umask {
        out.push_str("umask 0000\n");
    }
}

/// The start of a helper-container script that works in the checkout (umask 0000, as the
/// build container may run as another user).
fn checkout_script(ctx: &JobContext) -> String {
    let mut s = String::new();
    prologue(&mut s, true);
    let _ = writeln!(s, "cd {}", sh_quote(&ctx.project_dir));
    s
}

fn epilogue(out: &mut String) {
    out.push_str("}\n");
}

fn exports(out: &mut String, ctx: &JobContext) {
    let tmp = format!("{}.tmp", ctx.project_dir);
    let mut made_tmp = false;
    for v in &ctx.variables {
        if !is_name(&v.key) {
            continue;
        }
        if v.file {
            if !made_tmp {
                let _ = writeln!(out, "mkdir -p {}", sh_quote(&tmp));
                made_tmp = true;
            }
            let path = format!("{tmp}/{}", v.key);
            let _ = writeln!(
                out,
                "printf '%s' {} > {}\nexport {}={}",
                sh_quote(&v.value),
                sh_quote(&path),
                v.key,
                sh_quote(&path)
            );
        } else {
            let _ = writeln!(out, "export {}={}", v.key, sh_quote(&v.value));
        }
    }
}

fn is_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn echo(out: &mut String, colour: &str, text: &str) {
    let _ = writeln!(
        out,
        "printf '\\033[{colour}m%s\\033[0;m\\n' {}",
        sh_quote(text)
    );
}

/// `get_sources`: fetch or clone the repository at the job's SHA (helper container).
pub fn get_sources(ctx: &JobContext) -> Stage {
    let mut s = String::new();
    prologue(&mut s, true);
    exports(&mut s, ctx);
    if let Some(pre) = ctx
        .runner
        .pre_clone_script
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        s.push_str(pre);
        s.push('\n');
    }
    let git = &ctx.job.git_info;
    let strategy = ctx
        .variable("GIT_STRATEGY")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            if ctx.job.allow_git_fetch {
                "fetch".into()
            } else {
                "clone".into()
            }
        });
    let depth = ctx
        .variable("GIT_DEPTH")
        .and_then(|d| d.parse::<i64>().ok())
        .unwrap_or(git.depth);
    let _ = write!(
        s,
        "gitlab-runner-helper git-sources --repo-url {} --sha {} --ref {} --ref-type {} --strategy {} --depth {} --dir {}",
        sh_quote(&ctx.repo_url()),
        sh_quote(&git.sha),
        sh_quote(&git.git_ref),
        sh_quote(&git.ref_type),
        sh_quote(&strategy),
        depth,
        sh_quote(&ctx.project_dir),
    );
    for r in &git.refspecs {
        let _ = write!(s, " --refspec {}", sh_quote(r));
    }
    if ctx.variable("GIT_CHECKOUT") == Some("false") {
        s.push_str(" --no-checkout");
    }
    s.push('\n');
    epilogue(&mut s);
    Stage {
        name: "get_sources",
        container: Container::Helper,
        script: s,
    }
}

/// `download_artifacts`: fetch dependencies' artifacts into the checkout (helper container).
pub fn download_artifacts(ctx: &JobContext) -> Option<Stage> {
    let deps: Vec<_> = ctx
        .job
        .dependencies
        .iter()
        .filter(|d| {
            d.artifacts_file
                .as_ref()
                .is_some_and(|f| !f.filename.is_empty())
        })
        .collect();
    if deps.is_empty() {
        return None;
    }
    let mut s = checkout_script(ctx);
    for d in deps {
        echo(
            &mut s,
            "32;1",
            &format!("Downloading artifacts for {} ({})...", d.name, d.id),
        );
        let token = if d.token.is_empty() {
            &ctx.job.token
        } else {
            &d.token
        };
        let _ = writeln!(
            s,
            "gitlab-runner-helper artifacts-downloader --url {} --token {} --id {}",
            sh_quote(&ctx.gitlab_url()),
            sh_quote(token),
            d.id
        );
    }
    epilogue(&mut s);
    Some(Stage {
        name: "download_artifacts",
        container: Container::Helper,
        script: s,
    })
}

/// The user script of a step (`build_script` for `script`, `after_script`) in the build container.
pub fn user_script(ctx: &JobContext, step: &Step, name: &'static str) -> Stage {
    let mut s = String::new();
    prologue(&mut s, false);
    exports(&mut s, ctx);
    let _ = writeln!(s, "cd {}", sh_quote(&ctx.project_dir));
    let pre = ctx
        .runner
        .pre_build_script
        .as_deref()
        .filter(|_| name == "build_script");
    let post = ctx
        .runner
        .post_build_script
        .as_deref()
        .filter(|_| name == "build_script");
    if let Some(pre) = pre.filter(|p| !p.is_empty()) {
        s.push_str(pre);
        s.push('\n');
    }
    for command in &step.script {
        let command = command.trim();
        if command.is_empty() {
            continue;
        }
        let shown = match command.split_once('\n') {
            Some((first, _)) => format!("$ {first} # collapsed multi-line command"),
            None => format!("$ {command}"),
        };
        echo(&mut s, "32;1", &shown);
        s.push_str(command);
        s.push('\n');
    }
    if let Some(post) = post.filter(|p| !p.is_empty()) {
        s.push_str(post);
        s.push('\n');
    }
    epilogue(&mut s);
    Stage {
        name,
        container: Container::Build,
        script: s,
    }
}

/// `upload_artifacts_on_success` / `_on_failure`: archive and upload (helper container).
pub fn upload_artifacts(ctx: &JobContext, job_succeeded: bool) -> Option<Stage> {
    let wanted = |a: &&ArtifactSpec| match a.when.as_str() {
        "always" => true,
        "on_failure" => !job_succeeded,
        _ => job_succeeded,
    };
    let artifacts: Vec<&ArtifactSpec> = ctx
        .job
        .artifacts
        .iter()
        .filter(wanted)
        .filter(|a| !a.paths.is_empty() || a.untracked)
        .collect();
    if artifacts.is_empty() {
        return None;
    }
    let mut s = checkout_script(ctx);
    for a in artifacts {
        echo(&mut s, "32;1", "Uploading artifacts...");
        let _ = write!(
            s,
            "gitlab-runner-helper artifacts-uploader --url {} --token {} --id {}",
            sh_quote(&ctx.gitlab_url()),
            sh_quote(&ctx.job.token),
            ctx.job.id
        );
        for p in &a.paths {
            let _ = write!(s, " --path {}", sh_quote(p));
        }
        for p in &a.exclude {
            let _ = write!(s, " --exclude {}", sh_quote(p));
        }
        if a.untracked {
            s.push_str(" --untracked");
        }
        if !a.name.is_empty() {
            let _ = write!(s, " --name {}", sh_quote(&a.name));
        }
        if let Some(e) = a.expire_in.as_deref().filter(|e| !e.is_empty()) {
            let _ = write!(s, " --expire-in {}", sh_quote(e));
        }
        let format = a
            .artifact_format
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or("zip");
        let kind = a
            .artifact_type
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or("archive");
        let _ = writeln!(s, " --artifact-format {format} --artifact-type {kind}");
    }
    epilogue(&mut s);
    Some(Stage {
        name: if job_succeeded {
            "upload_artifacts_on_success"
        } else {
            "upload_artifacts_on_failure"
        },
        container: Container::Helper,
        script: s,
    })
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
