//! Reporting scenario runs: the summary table, JUnit XML for CI, and per scenario a pipeline
//! picture (HTML) and the traces of failed jobs.

use std::fmt::Write as _;
use std::path::Path;

use crate::scenario::{Outcome, ScenarioReport};

/// The summary table printed at the end of `harness run`.
pub fn summary_table(reports: &[ScenarioReport]) -> String {
    let mut out = String::new();
    let width = reports
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "{:<width$}  {:<7}  {:>8}  {:>5}  {:<10}  DETAIL",
        "SCENARIO", "RESULT", "TIME", "STEPS", "PIPELINES"
    );
    for report in reports {
        let (result, detail) = match &report.outcome {
            Outcome::Passed => ("PASS", String::new()),
            Outcome::Failed(message) => ("FAIL", first_line(message)),
            Outcome::Skipped(reason) => ("SKIP", first_line(reason)),
            Outcome::Unavailable(reason) => ("N/A", first_line(reason)),
        };
        let passed = report.steps.iter().filter(|s| s.outcome.passed()).count();
        let pipelines: Vec<String> = report.pipelines.iter().map(|p| p.status.clone()).collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:<7}  {:>7.1}s  {:>2}/{:<2}  {:<10}  {}",
            report.name,
            result,
            report.duration.as_secs_f64(),
            passed,
            report.steps.len(),
            pipeline_column(&pipelines),
            detail
        );
    }
    let (failed, skipped) = failed_and_skipped(reports.iter().map(|r| &r.outcome));
    let _ = writeln!(
        out,
        "{} passed, {failed} failed, {skipped} skipped",
        reports.len() - failed - skipped
    );
    out
}

/// The statuses of a scenario's pipelines: each when there are few, counted when there are many.
fn pipeline_column(statuses: &[String]) -> String {
    if statuses.is_empty() {
        return "-".into();
    }
    if statuses.len() <= 3 {
        return statuses.join(",");
    }
    let mut counts: Vec<(&str, usize)> = vec![];
    for status in statuses {
        match counts.iter_mut().find(|(s, _)| s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status, 1)),
        }
    }
    counts
        .iter()
        .map(|(status, n)| format!("{n}×{status}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// How many of `outcomes` failed and how many were skipped.
fn failed_and_skipped<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> (usize, usize) {
    outcomes.fold((0, 0), |(failed, skipped), outcome| match outcome {
        Outcome::Passed => (failed, skipped),
        Outcome::Failed(_) => (failed + 1, skipped),
        Outcome::Skipped(_) | Outcome::Unavailable(_) => (failed, skipped + 1),
    })
}

/// Step-by-step detail of one scenario (printed for failures).
pub fn scenario_detail(report: &ScenarioReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "── {} ({})", report.name, report.file.display());
    if report.steps.is_empty() {
        match &report.outcome {
            Outcome::Failed(message)
            | Outcome::Skipped(message)
            | Outcome::Unavailable(message) => {
                let _ = writeln!(out, "  {}", message.replace('\n', "\n  "));
            }
            Outcome::Passed => {}
        }
    }
    for step in &report.steps {
        let mark = match &step.outcome {
            Outcome::Passed => "✓",
            Outcome::Failed(_) => "✗",
            Outcome::Skipped(_) | Outcome::Unavailable(_) => "-",
        };
        let _ = writeln!(
            out,
            "  {mark} {} ({:.1}s)",
            step.name,
            step.duration.as_secs_f64()
        );
        for assertion in &step.assertions {
            let mark = if assertion.outcome.passed() {
                "✓"
            } else {
                "✗"
            };
            let _ = writeln!(out, "      {mark} {}", assertion.description);
        }
        if let Outcome::Failed(message) = &step.outcome {
            let _ = writeln!(out, "      {}", message.replace('\n', "\n      "));
        }
    }
    for pipeline in &report.pipelines {
        for (_, jobs) in &pipeline.stages {
            for job in jobs {
                if let Some(trace) = &job.trace_tail {
                    let _ = writeln!(
                        out,
                        "  trace of failed job {} (#{}, {}):",
                        job.name,
                        job.id,
                        job.failure_reason.clone().unwrap_or_default()
                    );
                    let _ = writeln!(out, "    {}", trace.replace('\n', "\n    "));
                }
            }
        }
    }
    if !report.described.is_empty() {
        let _ = writeln!(out, "  what ran (real or stand-in):");
        for line in &report.described {
            let _ = writeln!(out, "    - {line}");
        }
    }
    if let Some(dir) = &report.kept_state {
        let _ = writeln!(out, "  state kept in {}", dir.display());
    }
    out
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(100).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one testsuite per scenario, one testcase per step, written with `quick-junit`.
/// Messages are cleaned of terminal colour codes and characters XML 1.0 forbids, so a job trace
/// cannot break a CI's JUnit parser.
pub fn junit(reports: &[ScenarioReport]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let status = |outcome: &Outcome| match outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed(message) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(xml_text(&first_line(message)));
            status.set_description(xml_text(message));
            status
        }
        Outcome::Skipped(reason) | Outcome::Unavailable(reason) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(xml_text(reason));
            status
        }
    };
    let mut junit = Report::new("gitlab-k8s-harness");
    for report in reports {
        let mut suite = TestSuite::new(xml_text(&report.name));
        suite.set_time(report.duration);
        if report.steps.is_empty() {
            let mut case = TestCase::new("environment", status(&report.outcome));
            case.set_classname(xml_text(&report.name));
            suite.add_test_case(case);
        }
        for step in &report.steps {
            let mut case = TestCase::new(xml_text(&step.name), status(&step.outcome));
            case.set_classname(xml_text(&report.name));
            case.set_time(step.duration);
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- JUnit report could not be written: {e} -->"))
}

/// Text as XML 1.0 may carry it: ANSI escape sequences removed, other control characters
/// (except tab and newlines) dropped.
fn xml_text(text: &str) -> String {
    let stripped = strip_ansi_escapes::strip_str(text);
    stripped
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || (c >= ' ' && c != '\u{7f}' && c != '\u{fffe}' && c != '\u{ffff}')
        })
        .collect()
}

/// Writes `pipeline.html` (stages, jobs, durations) and the traces of failed jobs under
/// `dir/<scenario>/`.
pub fn write_scenario_files(dir: &Path, report: &ScenarioReport) -> std::io::Result<()> {
    let dir = dir.join(&report.name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("pipeline.html"), pipeline_html(report))?;
    for pipeline in &report.pipelines {
        for (_, jobs) in &pipeline.stages {
            for job in jobs {
                if let Some(trace) = &job.trace {
                    std::fs::write(
                        dir.join(format!("trace-{}-{}.log", job.id, job.name)),
                        trace,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// A self-contained HTML picture of the scenario's pipelines.
pub fn pipeline_html(report: &ScenarioReport) -> String {
    let mut out = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title><style>\
body{{font-family:sans-serif;margin:2em}}.p{{margin-bottom:2em}}.stages{{display:flex;gap:2em}}\
.stage h3{{font-size:1em;color:#555}}.job{{border:1px solid #ccc;border-radius:6px;padding:.4em .8em;margin:.3em 0}}\
.success{{border-color:#1aaa55}}.failed{{border-color:#db3b21;background:#fdf2f0}}.skipped,.canceled{{color:#999}}\
</style></head><body><h1>{0}</h1><p>{1}</p>",
        xml(&report.name),
        match &report.outcome {
            Outcome::Passed => "passed".to_owned(),
            Outcome::Failed(m) => format!("failed: {}", xml(&first_line(m))),
            Outcome::Skipped(m) | Outcome::Unavailable(m) => format!("skipped: {}", xml(m)),
        }
    );
    for pipeline in &report.pipelines {
        let _ = write!(
            out,
            "<div class=\"p\"><h2>Pipeline #{} — {} @ {} — {}</h2><div class=\"stages\">",
            pipeline.id,
            xml(&pipeline.git_ref),
            &pipeline.sha[..8.min(pipeline.sha.len())],
            xml(&pipeline.status)
        );
        for (stage, jobs) in &pipeline.stages {
            let _ = write!(out, "<div class=\"stage\"><h3>{}</h3>", xml(stage));
            for job in jobs {
                let _ = write!(
                    out,
                    "<div class=\"job {}\">{} <small>{}{}</small></div>",
                    xml(&job.status),
                    xml(&job.name),
                    xml(&job.status),
                    job.seconds
                        .map(|s| format!(" · {s:.1}s"))
                        .unwrap_or_default()
                );
            }
            out.push_str("</div>");
        }
        out.push_str("</div></div>");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_pipelines_are_counted() {
        let few: Vec<String> = vec!["success".into(), "failed".into()];
        assert_eq!(pipeline_column(&few), "success,failed");
        let many: Vec<String> = (0..20)
            .map(|i| if i == 3 { "failed" } else { "success" }.into())
            .collect();
        assert_eq!(pipeline_column(&many), "19×success,1×failed");
        assert_eq!(pipeline_column(&[]), "-");
    }
    use crate::scenario::report::StepReport;
    use std::time::Duration;

    fn report(outcome: Outcome) -> ScenarioReport {
        ScenarioReport {
            name: "demo".into(),
            file: "scenarios/demo.yaml".into(),
            outcome,
            steps: vec![StepReport {
                name: "kubectl get <po>".into(),
                outcome: Outcome::Failed("exit 1 & \"bad\"".into()),
                duration: Duration::from_millis(1500),
                assertions: vec![],
                output: String::new(),
            }],
            pipelines: vec![],
            duration: Duration::from_secs(3),
            kept_state: None,
            described: vec![],
            teardown: vec![],
        }
    }

    #[test]
    fn junit_of_a_trace_with_colour_codes_is_well_formed_xml() {
        let trace = "\u{1b}[0KRunning with gitlab-runner\n\u{1b}[31;1mERROR: Job failed: exit code 1\u{1b}[0;m\u{7}\u{0}";
        let mut failed = report(Outcome::Failed(format!(
            "job docker-build failed:\n{trace}"
        )));
        failed.steps[0].outcome = Outcome::Failed(trace.into());
        let xml = junit(&[failed]);
        let document = roxmltree::Document::parse(&xml)
            .unwrap_or_else(|e| panic!("a strict XML parser refuses the report: {e}\n{xml:?}"));
        let failure = document
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("the failing step is a failure");
        let text = failure.text().unwrap_or_default();
        assert!(text.contains("ERROR: Job failed: exit code 1"), "{text:?}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn junit_escapes_and_counts_failures() {
        let xml = junit(&[report(Outcome::Failed("x".into()))]);
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("kubectl get &lt;po&gt;"), "{xml}");
        assert!(xml.contains("exit 1 &amp; &quot;bad&quot;"), "{xml}");
    }

    #[test]
    fn table_has_a_closing_count_line() {
        let table = summary_table(&[
            report(Outcome::Passed),
            report(Outcome::Skipped("no image".into())),
        ]);
        assert!(table.contains("PASS") && table.contains("SKIP"), "{table}");
        assert!(
            table.trim_end().ends_with("1 passed, 0 failed, 1 skipped"),
            "{table}"
        );
    }
}
