//! `harness doctor [--fix]`.

use crate::cli::DoctorArgs;
use crate::doctor;
use crate::exit;

pub(super) async fn run(args: DoctorArgs) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let report = doctor::check(args.fix).await;
    for line in &report.lines {
        if args.brief && line.ok && line.action.is_none() {
            continue;
        }
        let mark = match (line.ok, line.tests_only) {
            (true, _) => "ok ",
            (false, true) => "absent",
            (false, false) => "MISSING",
        };
        let action = line
            .action
            .as_deref()
            .map(|a| format!("  [{a}]"))
            .unwrap_or_default();
        println!(
            "{mark:<7} {:<16} {:<60} {:>7.2}s{action}",
            line.name,
            line.detail,
            line.elapsed.as_secs_f64()
        );
    }
    if !report.advice.is_empty() {
        println!("\nTo fix:");
        for advice in &report.advice {
            println!("  {advice}");
        }
        if !args.fix {
            println!("  (or run `harness doctor --fix` as root on Debian/Ubuntu)");
        }
    }
    let passed = report.lines.iter().filter(|l| l.ok).count();
    println!(
        "doctor finished in {:.2}s: {passed} of {} checks ok",
        started.elapsed().as_secs_f64(),
        report.lines.len()
    );
    Ok(if report.ok() {
        exit::OK
    } else {
        exit::PREREQUISITE
    })
}
