//! `harness up [SCENARIO]`: bring an environment up, run the scenario's setup steps (those before
//! its first push or pipeline run), print how to use it, and keep it until Ctrl-C.

use crate::cli::UpArgs;
use crate::environment::Environment;
use crate::exit;
use crate::scenario::load;
use crate::scenario::steps::{RunState, run_action};

pub(super) async fn run(args: UpArgs) -> anyhow::Result<u8> {
    let path = args.scenario.unwrap_or_else(|| {
        crate::paths::repo_root()
            .join("scenarios")
            .join("tutorial.yaml")
    });
    let loaded = match load(&path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let say = |line: &str| eprintln!("  · {line}");
    eprintln!("starting the environment of {}", path.display());
    let mut env = tokio::select! {
        env = Environment::start(&loaded.scenario.environment, &loaded.dir, &say) => env?,
        _ = crate::signals::stop_requested() => return Ok(exit::INTERRUPTED),
    };
    let mut state = RunState::new();
    let mut failed = false;
    for step in &loaded.steps {
        if step.action.starts_pipelines() {
            break;
        }
        let name = step.name.clone();
        let result = tokio::select! {
            result = run_action(&mut env, &loaded, &mut state, step) => result,
            _ = crate::signals::stop_requested() => { env.shutdown().await; return Ok(exit::INTERRUPTED); }
        };
        match result {
            Ok(_) => eprintln!("  ✓ {name}"),
            Err(e) => {
                eprintln!("  ✗ {name}: {e:#}");
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
    eprintln!("stopping the environment…");
    let removed = env.shutdown().await;
    eprintln!("stopped ({removed} containers removed)");
    Ok(exit::INTERRUPTED)
}

fn print_usage(env: &Environment) {
    let kubeconfig = env.apiserver.kubeconfig_path().to_path_buf();
    let root = env.gitlab.root_credentials();
    println!(
        "\nEnvironment {} is up. State: {}",
        env.id,
        env.state_dir().display()
    );
    println!(
        "\n  Kubernetes   {}  (embedded API server, kubelet on Docker)",
        env.apiserver.url()
    );
    println!(
        "  GitLab       {}  user {} / password {}",
        env.gitlab.url(),
        root.username,
        root.password
    );
    println!(
        "               runner registration token: {}",
        env.gitlab.registration_token()
    );
    println!("  project      {}", env.project.http_url_to_repo);
    println!(
        "  registry     {}  user {} / password {}",
        env.registry.host(),
        env.registry.credentials().username,
        env.registry.credentials().password
    );
    println!("  Maven        {}", env.maven.url());
    println!("\nTry:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get po -n gitlab-runners");
    println!("  kubectl get pvc -n gitlab-runners");
    println!(
        "  kubectl exec -n gitlab-runners deploy/gitlab-runner-gitlab-runner -- cat /home/gitlab-runner/.gitlab-runner/config.toml"
    );
    println!(
        "  git -C sample-java-app push http://{}:{}@{} HEAD:master",
        root.username,
        root.password,
        env.project.http_url_to_repo.trim_start_matches("http://")
    );
    println!("\nPress Ctrl-C to stop and clean up.");
}
