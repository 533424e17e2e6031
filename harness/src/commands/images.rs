//! `harness images`: provide and list every image the scenarios name.

use std::time::Instant;

use harness_images::PullPolicy;

use crate::cli::ImagesArgs;
use crate::exit;
use crate::progress::Spinner;
use harness_error_chain::Chain;

pub(super) async fn run(args: ImagesArgs) -> anyhow::Result<u8> {
    let provisioner = crate::images::provisioner()?;
    let references = if args.images.is_empty() {
        provisioner.known_references()
    } else {
        args.images.clone()
    };
    let started = Instant::now();
    let mut failed = false;
    let mut rows = Vec::new();
    for (index, reference) in references.iter().enumerate() {
        let result = if args.list {
            provisioner.inspect(reference).await
        } else {
            // A stand-in that is not cached yet is built here: minutes, the first time.
            let spinner = Spinner::start(
                0,
                format!("[{}/{}] providing {reference}", index + 1, references.len()),
            );
            let result = provisioner
                .ensure(reference, PullPolicy::IfNotPresent)
                .await;
            spinner.finish();
            result.map(Some)
        };
        match result {
            Ok(Some(image)) => rows.push((
                reference.clone(),
                image.source.to_string(),
                format!("{:.0} MB", image.size as f64 / 1e6),
                image.provides.join(","),
            )),
            Ok(None) => rows.push((
                reference.clone(),
                "absent".into(),
                "-".into(),
                String::new(),
            )),
            Err(e) => {
                failed = true;
                rows.push((
                    reference.clone(),
                    "FAILED".into(),
                    "-".into(),
                    Chain(&e).to_string(),
                ));
            }
        }
    }
    let total = rows.len();
    if args.brief {
        // Only what changed or failed: images already present need no line.
        rows.retain(|(_, source, _, _)| source.contains("built") || source == "FAILED");
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
    if !rows.is_empty() {
        println!(
            "{:<width$}  {:<18}  {:>8}  PROVIDES / ERROR",
            "IMAGE", "SOURCE", "SIZE"
        );
    }
    for (image, source, size, extra) in rows {
        println!("{image:<width$}  {source:<18}  {size:>8}  {extra}");
    }
    let seconds = started.elapsed().as_secs_f64();
    if failed {
        println!("some of {total} images could not be provided ({seconds:.2}s)");
    } else {
        println!("{total} images ready in {seconds:.2}s");
    }
    if let Some(log) = crate::logging::current_file().filter(|log| log.exists()) {
        println!("log: {}", log.display());
    }
    Ok(if failed { exit::FAILED } else { exit::OK })
}
