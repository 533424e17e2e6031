//! `harness images`: provide and list every image the scenarios name.

use std::time::Instant;

use harness_images::{ImageSource, PullPolicy};

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
        let row = match result {
            Ok(Some(image)) => Row {
                worth_a_line: matches!(
                    image.source,
                    ImageSource::StandIn {
                        built_now: true,
                        ..
                    }
                ),
                source: image.source.to_string(),
                size: format!("{:.0} MB", image.size as f64 / 1e6),
                extra: image.provides.join(","),
                image: reference.clone(),
            },
            Ok(None) => Row {
                image: reference.clone(),
                source: "absent".into(),
                size: "-".into(),
                extra: String::new(),
                worth_a_line: false,
            },
            Err(e) => {
                failed = true;
                Row {
                    image: reference.clone(),
                    source: "FAILED".into(),
                    size: "-".into(),
                    extra: Chain(&e).to_string(),
                    worth_a_line: true,
                }
            }
        };
        rows.push(row);
    }
    let total = rows.len();
    if args.brief {
        // Only stand-ins built now and failures: images already present need no line.
        rows.retain(|row| row.worth_a_line);
    }
    let width = rows.iter().map(|r| r.image.len()).max().unwrap_or(5).max(5);
    if !rows.is_empty() {
        println!(
            "{:<width$}  {:<18}  {:>8}  PROVIDES / ERROR",
            "IMAGE", "SOURCE", "SIZE"
        );
    }
    for Row {
        image,
        source,
        size,
        extra,
        ..
    } in rows
    {
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

/// One line of the listing.
struct Row {
    image: String,
    source: String,
    size: String,
    extra: String,
    /// Shown with `--brief`: a stand-in built by this call, or a failure.
    worth_a_line: bool,
}
