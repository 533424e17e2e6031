//! Renders a values file like `helm template`: `render VALUES [CHART] [NAMESPACE] [--patch] [--set k=v]...`.

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(values) = args.first() else {
        eprintln!("usage: render VALUES [CHART] [NAMESPACE] [--patch] [--set k=v]...");
        std::process::exit(2);
    };
    let mut options = harness_chart::RenderOptions {
        namespace: "gitlab-runners".into(),
        validate: false,
        ..Default::default()
    };
    let mut positional = 0;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--patch" => options.apply_tutorial_patch = true,
            "--set" => {
                let kv = it.next().cloned().unwrap_or_default();
                options = match options.with_set_arg(&kv) {
                    Ok(o) => o,
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                };
            }
            other if positional == 0 => {
                positional += 1;
                match other.parse() {
                    Ok(c) => options.chart = c,
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
            }
            other => options.namespace = other.to_string(),
        }
    }
    match harness_chart::render_file(Path::new(values), &options) {
        Ok(yaml) => print!("{yaml}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
