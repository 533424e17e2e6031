//! Arbitrary values never make rendering (the harness's checks, Helm, reading Helm's output back)
//! or the upgrade check panic: they give a result or an error with a fix.

mod common;

use harness_chart::{ChartVersion, RenderOptions, ValuesInput, render, upgrade_check};
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "gitlabUrl",
    "runnerRegistrationToken",
    "runnerToken",
    "rbac",
    "runners",
    "image",
    "concurrent",
    "checkInterval",
    "securityContext",
    "podSecurityContext",
    "metrics",
    "envVars",
    "podLabels",
    "resources",
    "hpa",
    "serviceAccount",
    "create",
    "tags",
    "config",
    "cache",
    "secret",
    "name",
    "enabled",
    "replicas",
    "nodeSelector",
    "tolerations",
    "sessionServer",
    "volumes",
    "strategy",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..100_000).prop_map(|n| Value::Number(n.into())),
        "[a-z{}:. -]{0,12}".prop_map(Value::String),
        Just(Value::String("{{ .Values.x }}".into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    // Each case runs Helm up to four times (about 0.3 s each).
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn render_and_check_never_panic(entries in prop::collection::vec((prop::sample::select(KEYS), value()), 0..6), current in any::<bool>()) {
        let map: Map<String, Value> = entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let chart = if current { ChartVersion::Current } else { ChartVersion::V0_14_0 };
        let helm = common::helm();
        for validate in [true, false] {
            let options = RenderOptions { chart: chart.clone(), validate, ..Default::default() };
            if let Err(e) = render(&helm, &ValuesInput::Map(map.clone()), &options) {
                prop_assert!(e.to_string().contains("Fix:"), "{}", e);
            }
        }
        let _ = upgrade_check(&helm, &ValuesInput::Map(map), &ChartVersion::V0_14_0, &ChartVersion::Current);
    }
}
