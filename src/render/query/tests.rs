use super::*;
use crate::render::format::compact;
use crate::render::svg::assert_balanced;
use serde_json::Value as Json;

const START: f64 = 1_714_557_600.0;
const STEP: f64 = 15.0;

/// Both outputs of a range result as one bundle, the table's text/plain winning, so that each
/// test reads every MIME type in one place.
fn range(expr: &str, series: &[Series], baseline: Option<Baseline<'_>>, window: &Range) -> Bundle {
    let outputs = super::range(expr, series, baseline, window);
    assert!(outputs.len() <= 2);
    let mut merged = serde_json::Map::new();
    for output in outputs {
        if let Json::Object(map) = output.into_json() {
            merged.extend(map);
        }
    }
    Bundle::from_json(Json::Object(merged))
}

#[test]
fn the_chart_and_the_table_are_separate_outputs() {
    let all = [series(&[("job", "a")], &[1.0, 2.0])];
    let outputs = super::range("x", &all, None, &window(2));
    let types: Vec<Vec<&str>> = outputs
        .iter()
        .map(|b| {
            [
                "application/vnd.vegalite.v5+json",
                "image/svg+xml",
                "text/html",
                "text/plain",
            ]
            .into_iter()
            .filter(|m| b.has(m))
            .collect()
        })
        .collect();
    assert_eq!(
        types,
        [
            vec![
                "application/vnd.vegalite.v5+json",
                "image/svg+xml",
                "text/plain"
            ],
            vec!["text/html", "text/plain"]
        ]
    );
}

fn window(points: usize) -> Range {
    Range {
        start: START,
        end: START + STEP * (points - 1) as f64,
        step: STEP,
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn series(pairs: &[(&str, &str)], values: &[f64]) -> Series {
    Series {
        labels: labels(pairs),
        points: values
            .iter()
            .enumerate()
            .map(|(i, &v)| (START + STEP * i as f64, v))
            .collect(),
    }
}

/// Request rates of `n` instances, each with its own level and wave, as a busy service has.
fn synthetic(n: usize, points: usize) -> Vec<Series> {
    (0..n)
        .map(|i| {
            let instance = format!("10.0.{}.{}:9090", i / 250, i % 250);
            let service = format!("svc-{}", i % 40);
            let values: Vec<f64> = (0..points)
                .map(|j| {
                    let level = 10.0 + (i * 37 % 1000) as f64;
                    level * (1.0 + 0.3 * ((j as f64) / 40.0 + i as f64).sin())
                })
                .collect();
            series(
                &[
                    ("__name__", "http_requests_total"),
                    ("code", ["200", "500", "503"][i % 3]),
                    ("instance", &instance),
                    ("service", &service),
                ],
                &values,
            )
        })
        .collect()
}

fn vega(bundle: &Bundle) -> &Json {
    &bundle.0[vegalite::MIME]
}

/// The HTML without the cells' inline alignment, which the tests of what a table lists need not
/// spell out; `cells_are_aligned_inline` tests it.
fn html(bundle: &Bundle) -> String {
    bundle
        .get("text/html")
        .unwrap()
        .replace(TEXT_ALIGN, "")
        .replace(NUMBER_ALIGN, "")
}

fn plain(bundle: &Bundle) -> &str {
    bundle.get("text/plain").unwrap()
}

/// The cells after a series' name in the HTML table.
fn row_cells<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!("{}</td><td>", escape_html(name));
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no row for {name}"))
        + key.len();
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    row.trim_end_matches("</td>").split("</td><td>").collect()
}

#[test]
fn the_table_lists_every_series_with_figures_from_every_raw_point() {
    let all = synthetic(40, 1000);
    let bundle = range("rate(http_requests_total[5m])", &all, None, &window(1000));
    let html = html(&bundle);
    assert_eq!(html.matches("<tr><td>").count(), 40);
    for s in &all {
        let mut values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
        let last = *values.last().unwrap();
        let avg = values.iter().sum::<f64>() / values.len() as f64;
        values.sort_by(f64::total_cmp);
        let name = format!(
            "{{code=\"{}\", instance=\"{}\", service=\"{}\"}}",
            s.labels["code"], s.labels["instance"], s.labels["service"]
        );
        assert_eq!(
            row_cells(&html, &name),
            [
                compact(values[0]),
                compact(avg),
                compact(values[values.len() - 1]),
                compact(last),
                "1000".to_owned()
            ],
            "{name}"
        );
    }
}

#[test]
fn non_finite_values_never_reach_the_json_nor_the_figures() {
    let all = [
        series(&[("job", "a")], &[1.0, f64::NAN, 5.0, f64::INFINITY, 3.0]),
        series(
            &[("job", "b")],
            &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
        ),
        series(
            &[("job", "c")],
            &[f64::NEG_INFINITY, 2.0, 2.0, 2.0, f64::NAN],
        ),
    ];
    let bundle = range("x", &all, None, &window(5));
    let text = serde_json::to_string(&bundle.clone().into_json()).unwrap();
    assert!(serde_json::from_str::<Json>(&text).is_ok());
    let rows = vega(&bundle)["data"]["values"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["v"].is_null() || r["v"].is_f64()));
    let html = html(&bundle);
    assert_eq!(
        row_cells(&html, "{job=\"a\"}"),
        ["1", "3", "5", "3", "5 (2 NaN/Inf)"]
    );
    assert_eq!(
        row_cells(&html, "{job=\"b\"}"),
        ["—", "—", "—", "NaN", "5 (5 NaN/Inf)"]
    );
    assert_eq!(
        row_cells(&html, "{job=\"c\"}"),
        ["2", "2", "2", "NaN", "5 (2 NaN/Inf)"]
    );
    assert!(html.contains("over finite values only: 9 samples in 3 series were NaN or ±Inf"));
    assert_balanced(bundle.get("image/svg+xml").unwrap());
    let plain = bundle.get("text/plain").unwrap();
    assert!(
        plain.contains("{job=\"a\"}: min 1  avg 3  max 5  last 3  (2 NaN/Inf)"),
        "{plain}"
    );
}

#[test]
fn the_chart_draws_the_ten_highest_and_says_how_many_it_left_out() {
    let all = synthetic(500, 50);
    let bundle = range("x", &all, None, &window(50));
    let spec = vega(&bundle);
    let drawn = spec["transform"][0]["from"]["data"]["values"]
        .as_array()
        .unwrap();
    assert_eq!(drawn.len(), MAX_LINES);
    let mut maxima: Vec<(f64, String)> = all
        .iter()
        .zip(series_names(all.iter().map(|s| &s.labels), "x"))
        .map(|(s, name)| (s.points.iter().map(|p| p.1).fold(f64::MIN, f64::max), name))
        .collect();
    maxima.sort_by(|a, b| b.0.total_cmp(&a.0));
    let highest: Vec<&str> = maxima[..MAX_LINES].iter().map(|m| m.1.as_str()).collect();
    let names: Vec<&str> = drawn
        .iter()
        .map(|l| l["series"].as_str().unwrap())
        .collect();
    assert_eq!(names, highest);
    let subtitle = spec["title"]["subtitle"][0].as_str().unwrap();
    assert!(
        subtitle.starts_with("+490 more series not drawn"),
        "{subtitle}"
    );
    let svg = bundle.get("image/svg+xml").unwrap();
    assert_eq!(svg.matches("<polyline").count(), MAX_LINES);
    assert!(svg.contains("+490 more series not drawn"));
    assert_eq!(html(&bundle).matches("<tr><td>").count(), 500);
}

#[test]
fn five_hundred_series_of_a_thousand_points_stay_under_a_megabyte() {
    let all = synthetic(500, 1000);
    let before = synthetic(500, 1000);
    let baseline = Baseline {
        series: &before,
        offset: Duration::from_secs(7 * 86_400),
    };
    for bundle in [
        range("rate(http_requests_total[5m])", &all, None, &window(1000)),
        range(
            "rate(http_requests_total[5m])",
            &all,
            Some(baseline),
            &window(1000),
        ),
    ] {
        let size = serde_json::to_vec(&bundle.clone().into_json())
            .unwrap()
            .len();
        assert!(size < 1_000_000, "{size} bytes");
        let rows = vega(&bundle)["data"]["values"].as_array().unwrap().len();
        assert!(
            rows <= 2 * MAX_LINES * chart::POINTS_PER_LINE,
            "{rows} rows"
        );
        assert_balanced(bundle.get("image/svg+xml").unwrap());
    }
}

#[test]
fn the_baseline_is_dashed_and_the_change_of_avg_is_signed() {
    let now = [
        series(&[("code", "500")], &[3.0, 3.0, 3.0, 3.48]),
        series(&[("code", "200")], &[50.0, 50.0, 50.0, 50.0]),
        series(&[("code", "404")], &[1.0, 1.0]),
    ];
    let before = [
        series(&[("code", "500")], &[1.0, 1.0, 1.0, 1.0]),
        series(&[("code", "200")], &[100.0, 100.0, 100.0, 100.0]),
        series(&[("code", "502")], &[7.0]),
    ];
    let baseline = Baseline {
        series: &before,
        offset: Duration::from_secs(7 * 86_400),
    };
    let bundle = range(
        "sum by (code) (rate(x[5m]))",
        &now,
        Some(baseline),
        &window(4),
    );
    let html = html(&bundle);
    assert!(html.contains("<th>avg vs -7d</th>"));
    assert_eq!(row_cells(&html, "{code=\"500\"}")[5], "+212%");
    assert_eq!(row_cells(&html, "{code=\"200\"}")[5], "-50%");
    assert_eq!(row_cells(&html, "{code=\"404\"}")[5], "not in baseline");
    assert!(html.contains("1 series of the baseline has no match"));
    let plain = bundle.get("text/plain").unwrap();
    assert!(plain.contains("avg +212% vs -7d"), "{plain}");

    let spec = vega(&bundle);
    let lines = spec["transform"][0]["from"]["data"]["values"]
        .as_array()
        .unwrap();
    let kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["series"].as_str().unwrap(), l["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("{code=\"200\"}", "current"),
            ("{code=\"200\"}", "baseline -7d"),
            ("{code=\"500\"}", "current"),
            ("{code=\"500\"}", "baseline -7d"),
            ("{code=\"404\"}", "current"),
        ]
    );
    let svg = bundle.get("image/svg+xml").unwrap();
    assert_eq!(
        svg.matches("stroke-dasharray").count(),
        3,
        "two lines and the legend"
    );
    assert!(svg.contains(">baseline -7d</text>"));
}

#[test]
fn no_data_names_the_window_and_the_hint() {
    let bundle = no_data(
        "rate(http_request_total[5m])",
        &window(241),
        "is the metric name right? http_request_total is not known to the source",
    );
    let plain = bundle.get("text/plain").unwrap();
    assert!(
        plain.contains("2024-05-01T10:00:00Z .. 2024-05-01T11:00:00Z"),
        "{plain}"
    );
    assert!(plain.contains("is the metric name right?"));
    assert!(html(&bundle).contains("<strong>no data</strong>"));
    assert_eq!(
        range("x", &[], None, &window(2)).get("text/plain").unwrap(),
        "no data: x returned no series in 2024-05-01T10:00:00Z .. 2024-05-01T10:00:15Z"
    );
}

#[test]
fn a_check_passes_without_samples_and_lists_fired_series_earliest_first() {
    let pass = check("no 5xx", "rate(errors[5m]) > 0", &[]);
    assert!(pass.get("text/plain").unwrap().starts_with("✓ PASS no 5xx"));

    let late = Series {
        labels: labels(&[("service", "cart")]),
        points: vec![(START + 600.0, 1.0), (START + 900.0, 2.0)],
    };
    let early = Series {
        labels: labels(&[("service", "checkout<")]),
        points: vec![(START, 1.0), (START + 60.0, 1.0), (START + 120.0, f64::NAN)],
    };
    let fail = check("no 5xx", "rate(errors[5m]) > 0", &[late, early]);
    let plain = fail.get("text/plain").unwrap();
    assert!(
        plain.starts_with("✗ FAIL no 5xx: 2 series fired"),
        "{plain}"
    );
    let lines: Vec<&str> = plain.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "  {service=\"checkout<\"}: 2024-05-01T10:00:00Z .. 2024-05-01T10:02:00Z, 3 samples",
            "  {service=\"cart\"}: 2024-05-01T10:10:00Z .. 2024-05-01T10:15:00Z, 2 samples",
        ]
    );
    assert!(html(&fail).contains("<td>{service=&quot;checkout&lt;&quot;}</td>"));
}

#[test]
fn instant_results_show_exact_values() {
    let vector = QueryResult::Vector(vec![
        Sample {
            labels: labels(&[("__name__", "build_info"), ("version", "2.53.1")]),
            time: START,
            value: 1.0,
        },
        Sample {
            labels: labels(&[("__name__", "build_info"), ("version", "2.54.0")]),
            time: START,
            value: f64::NAN,
        },
    ]);
    let bundle = instant("build_info", &vector);
    assert!(html(&bundle).contains("<td>{version=&quot;2.54.0&quot;}</td><td>NaN</td></tr>"));
    assert!(plain(&bundle).contains("2 samples at 2024-05-01T10:00:00Z"));

    let scalar = instant(
        "scalar(x)",
        &QueryResult::Scalar {
            time: START,
            value: 1234567.25,
        },
    );
    assert!(plain(&scalar).contains("scalar 1234567.25 at"));
    let inf = instant(
        "1/0",
        &QueryResult::Scalar {
            time: START,
            value: f64::INFINITY,
        },
    );
    assert!(inf.get("text/plain").unwrap().contains("scalar +Inf"));

    let matrix = QueryResult::Matrix(vec![series(&[("job", "a")], &[1.0, 2.0])]);
    let bundle = instant("x[1m]", &matrix);
    assert!(plain(&bundle).contains("min 1  avg 1.5  max 2  last 2"));
    assert!(bundle.0.get(vegalite::MIME).is_none());
}

#[test]
fn warnings_are_escaped() {
    let bundle = warnings(&["PromQL info: metric might not be a counter <x>".into()]);
    assert!(html(&bundle).contains("&lt;x&gt;"));
    assert!(bundle
        .get("text/plain")
        .unwrap()
        .starts_with("⚠ warning from the source: PromQL info"));
}
