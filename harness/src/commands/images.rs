//! `harness images`: provide and list every image the scenarios name.

use std::time::{Duration, Instant};

use harness_images::PullPolicy;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ImagesArgs;
use crate::exit;
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
    for reference in &references {
        let result = if args.list {
            provisioner.inspect(reference).await
        } else {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.set_message(format!("providing {reference}"));
            spinner.enable_steady_tick(Duration::from_millis(120));
            let result = provisioner
                .ensure(reference, PullPolicy::IfNotPresent)
                .await;
            spinner.finish_and_clear();
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
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:<18}  {:>8}  PROVIDES / ERROR",
        "IMAGE", "SOURCE", "SIZE"
    );
    for (image, source, size, extra) in rows {
        println!("{image:<width$}  {source:<18}  {size:>8}  {extra}");
    }
    println!("images ready in {:.2}s", started.elapsed().as_secs_f64());
    Ok(if failed { exit::FAILED } else { exit::OK })
}
