//! `harness up [SCENARIO]`: bring an environment up, run the scenario's setup steps (those before
//! its first push or pipeline run), print how to use it, and keep it until Ctrl-C.

use std::time::Instant;

use crate::cli::UpArgs;
use crate::environment::Environment;
use crate::exit;
use crate::progress::Spinner;
use crate::scenario::load;
use crate::scenario::steps::{RunState, run_action};
use harness_error_chain::Chain;

pub(super) async fn run(args: UpArgs) -> anyhow::Result<u8> {
    let path = args.scenario.unwrap_or_else(|| {
        crate::paths::repo_root()
            .join("scenarios")
            .join("tutorial.yaml")
    });
    let loaded = match load(&path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {}", Chain(&e));
            return Ok(exit::USAGE);
        }
    };
    if let Err(code) = super::helm_if_needed(std::slice::from_ref(&loaded)).await {
        return Ok(code);
    }
    let overrides = super::overrides(&args.backends)?;
    eprintln!("▶ {} ({})", loaded.name, path.display());
    let started_at = Instant::now();
    let spinner = Spinner::start(2, "starting the environment");
    let say = |line: &str| spinner.set_message(format!("starting the environment: {line}"));
    let started = tokio::select! {
        env = Environment::start(&loaded.scenario.environment, &loaded.dir, &overrides, &say) => env,
        _ = crate::signals::stop_requested() => return Ok(exit::INTERRUPTED),
    };
    spinner.finish();
    let mut env = match started {
        Ok(env) => env,
        Err(e) => return Ok(super::environment_error(&e)),
    };
    eprintln!(
        "  environment {} up in {:.1}s",
        env.id,
        started_at.elapsed().as_secs_f64()
    );
    let mut state = RunState::new();
    let mut failed = false;
    for step in &loaded.steps {
        if step.action.starts_pipelines() {
            break;
        }
        let step_started = Instant::now();
        let spinner = Spinner::start(2, step.name.clone());
        let result = tokio::select! {
            result = run_action(&mut env, &loaded, &mut state, step) => result,
            _ = crate::signals::stop_requested() => {
                spinner.finish();
                stop(env).await;
                return Ok(exit::INTERRUPTED);
            }
        };
        spinner.finish();
        let seconds = step_started.elapsed().as_secs_f64();
        match result {
            Ok(_) => eprintln!("  ✓ {} ({seconds:.1}s)", step.name),
            Err(e) => {
                eprintln!("  ✗ {} ({seconds:.1}s): {e:#}", step.name);
                failed = true;
                break;
            }
        }
    }
    print_usage(&env);
    if failed {
        eprintln!(
            "\na setup step failed; the environment stays up so you can look (Ctrl-C to stop)"
        );
    }
    crate::signals::stop_requested().await;
    stop(env).await;
    Ok(exit::INTERRUPTED)
}

/// Tears the environment down after a stop request, saying so (a second one exits at once).
async fn stop(env: Environment) {
    eprintln!("\nstopping the environment (Ctrl-C again to exit at once)");
    let started = Instant::now();
    let spinner = Spinner::start(2, "tearing the environment down");
    let lines = env.shutdown().await;
    spinner.finish();
    for line in lines {
        eprintln!("  {line}");
    }
    eprintln!(
        "  environment torn down in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

fn print_usage(env: &Environment) {
    let kubeconfig = env.kubeconfig();
    let url = env.gitlab.url();
    let token = env.gitlab.token();
    println!(
        "\nEnvironment {} is up. State: {}",
        env.id,
        env.state_dir().display()
    );
    println!(
        "  log: {}",
        env.state_dir().join(crate::logging::LOG_FILE).display()
    );
    for line in &env.described {
        println!("  {line}");
    }
    println!("\n  GitLab       {url}");
    if let Some((user, password)) = env.gitlab_sign_in() {
        println!("               sign-in and git over HTTP: {user} / {password}");
    }
    println!("               personal access token (api): {token}");
    if let Some(registration) = env.vars.get("gitlab.registration_token") {
        println!("               runner registration token: {registration}");
    }
    println!("  project      {}", env.project.http_url_to_repo);
    println!(
        "  registry     {}  user {} / password {}",
        env.registry.host(),
        env.registry.credentials().username,
        env.registry.credentials().password
    );
    println!("  Maven        {}", env.maven.url());
    if env.powers.pod_network == crate::backends::cluster::PodNetwork::Host {
        println!(
            "\n  Note: this cluster's pods share this machine's network: a pod listening on a port \
             listens on every interface of this machine."
        );
    }
    println!("\nTry:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get po -n gitlab-runners");
    println!("  kubectl get pvc -n gitlab-runners");
    println!(
        "  kubectl exec -n gitlab-runners deploy/gitlab-runner-gitlab-runner -- cat /home/gitlab-runner/.gitlab-runner/config.toml"
    );
    println!(
        "  curl -H 'PRIVATE-TOKEN: {token}' {url}api/v4/projects/{}/pipelines",
        env.project.id
    );
    println!(
        "  python3 -c \"import gitlab; g = gitlab.Gitlab('{url}', private_token='{token}'); print(g.projects.get({}).pipelines.list())\"",
        env.project.id
    );
    println!(
        "  GITLAB_HOST={url} glab auth login --hostname {} --token {token}",
        url.trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/')
    );
    println!(
        "  git -C sample-java-app push http://oauth2:{token}@{} HEAD:master",
        env.project.http_url_to_repo.trim_start_matches("http://")
    );
    println!("\nPress Ctrl-C to stop and clean up.");
}
