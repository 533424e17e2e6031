//! Error messages say what failed and leave the cause to `source()`: rendered with anyhow's `{:#}`
//! at the edge, as `harness` prints errors, each cause appears once. Real failures of the harness
//! and of the chart crate, each caused by an I/O error.

use std::fmt::Display;
use std::time::Duration;

/// Renders `error` as the harness does and checks that every link of its chain shows up once.
fn assert_each_cause_once<E>(error: E, context: impl Display + Send + Sync + 'static)
where
    E: std::error::Error + Send + Sync + 'static,
{
    let error = anyhow::Error::new(error).context(context);
    let rendered = format!("{error:#}");
    let links: Vec<String> = error.chain().map(ToString::to_string).collect();
    assert!(links.len() >= 3, "expected a chain of causes: {links:?}");
    for link in &links {
        assert_eq!(
            rendered.matches(link.as_str()).count(),
            1,
            "`{link}` is not shown exactly once in: {rendered}"
        );
    }
}

#[tokio::test]
async fn every_cause_is_rendered_once() {
    let tmp = tempfile::tempdir().unwrap();

    let spawn = harness::process::run("harness-no-such-program", &[], Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_each_cause_once(spawn, "checking the tools");

    let scenario = harness::scenario::load(&tmp.path().join("missing.yaml")).unwrap_err();
    assert_each_cause_once(scenario, "loading the scenario");

    // The values file is read before Helm is asked anything.
    let chart = harness_chart::render_file(
        &harness_chart::Helm::new("helm"),
        &tmp.path().join("values.yaml"),
        &harness_chart::RenderOptions::tutorial(),
    )
    .unwrap_err();
    assert_each_cause_once(chart, "rendering the chart");
}
