//! Prints the upgrade findings for a values file: `upgrade_check VALUES [MANIFEST...]`
//! (tutorial surroundings, 0.14.0 → current), then the migrated values.

use std::path::Path;

use harness_chart::{ChartVersion, Manifests, MigrateOptions, ValuesInput};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(values) = args.first() else {
        eprintln!("usage: upgrade_check VALUES [MANIFEST...]");
        std::process::exit(2);
    };
    let mut around = Manifests::tutorial();
    for m in &args[1..] {
        match std::fs::read_to_string(m) {
            Ok(text) => around = around.with_file(m, &text),
            Err(e) => eprintln!("{m}: {e}"),
        }
    }
    let (from, to) = (ChartVersion::V0_14_0, ChartVersion::Current);
    match harness_chart::upgrade_check_file(Path::new(values), &from, &to, &around) {
        Ok(findings) => findings.iter().for_each(|f| println!("{f}")),
        Err(e) => eprintln!("{e}"),
    }
    let text = std::fs::read_to_string(values).unwrap_or_default();
    let migrated = harness_chart::migrate_values_yaml(
        &ValuesInput::yaml(&text, values),
        &from,
        &to,
        &MigrateOptions::default(),
    );
    match migrated {
        Ok(y) => println!("--- migrated values ---\n{y}"),
        Err(e) => eprintln!("{e}"),
    }
}
