//! `harness bench`: the tutorial pipeline through the harness versus the same commands bare.

use crate::cli::BenchArgs;
use crate::exit;
use harness_error_chain::Chain;

pub(super) async fn run(args: BenchArgs) -> anyhow::Result<u8> {
    let path = args.scenario.unwrap_or_else(|| {
        crate::paths::repo_root()
            .join("scenarios")
            .join("tutorial.yaml")
    });
    let loaded = match crate::scenario::load(&path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {}", Chain(&e));
            return Ok(exit::USAGE);
        }
    };
    let overrides = super::overrides(&args.backends)?;
    let rounds = tokio::select! {
        rounds = crate::bench::run(&loaded, args.runs, &overrides) => rounds?,
        _ = crate::signals::stop_requested() => return Ok(exit::INTERRUPTED),
    };
    println!(
        "{:<6} {:>10} {:>10} {:>7}",
        "ROUND", "HARNESS", "BARE", "RATIO"
    );
    let mut ratios = vec![];
    for (i, round) in rounds.iter().enumerate() {
        let ratio = round.harness.as_secs_f64() / round.bare.as_secs_f64().max(0.001);
        ratios.push(ratio);
        println!(
            "{:<6} {:>9.1}s {:>9.1}s {:>6.2}x",
            i + 1,
            round.harness.as_secs_f64(),
            round.bare.as_secs_f64(),
            ratio
        );
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!("median ratio {median:.2}x (goal ≤ 1.30x)");
    }
    Ok(exit::OK)
}
