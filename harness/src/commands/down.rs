//! `harness down`: remove what crashed environments left behind: containers carrying the
//! environment label, an upstream cluster's processes, network, mounts and cgroups, registry
//! processes serving from an environment's state directory, and those state directories.

use crate::cli::DownArgs;
use crate::environment::labelled_containers;
use crate::exit;

pub(super) async fn run(args: DownArgs) -> anyhow::Result<u8> {
    let docker = bollard::Docker::connect_with_local_defaults()?;
    let ids = labelled_containers(&docker, args.env.as_deref()).await?;
    for id in &ids {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        if let Err(e) = docker.remove_container(id, Some(options)).await {
            eprintln!("could not remove container {id}: {e}");
        }
    }
    println!("removed {} container(s)", ids.len());
    let pattern = match &args.env {
        Some(id) => format!("harness-{id}-"),
        None => "harness-env-".to_owned(),
    };
    match crate::backends::cluster::upstream::remove_leftovers(&pattern) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
        }
        Err(e) => eprintln!("upstream cluster left alone: {e}"),
    }
    let killed = crate::environment::leftovers::kill_registry_processes(&pattern);
    println!("stopped {killed} registry process(es)");
    let removed = crate::environment::leftovers::remove_state_dirs(&pattern);
    println!("removed {removed} state director(y/ies)");
    Ok(exit::OK)
}
