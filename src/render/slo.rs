//! What an SLO shows: the SLI over the window against its objective, then one summary of the
//! budget left, the burn rates and the workbook's conditions, with the expression behind each
//! figure so that a reader can check it against the source.

use super::bundle::{escape_html, Bundle, NUMBER_ALIGN, TEXT_ALIGN};
use super::format::{duration, rfc3339, round_significant};
use super::query;
use crate::ops::metrics::{Labels, Series};
use crate::ops::slo::{AlertState, Exhaustion, Report, Seen, Slo};
use std::fmt::Write;

/// The chart of the SLI with the objective drawn beside it, then the summary.
pub fn report(slo: &Slo, report: &Report) -> Vec<Bundle> {
    let mut shown = Vec::new();
    if !report.sli.is_empty() {
        let line = |name: &str, points: Vec<(f64, f64)>| Series {
            // Named as a metric, so that the legend reads "SLI", not a label set.
            labels: Labels::from([("__name__".to_owned(), name.to_owned())]),
            points,
        };
        let objective = report.sli.iter().map(|&(t, _)| (t, slo.ratio)).collect();
        let lines = [
            line("SLI", report.sli.clone()),
            line(&format!("objective {}", slo.objective), objective),
        ];
        shown.extend(
            query::range(&report.sli_expr, &lines, None, &report.range)
                .into_iter()
                .take(1),
        );
    }
    shown.push(summary(slo, report));
    shown
}

/// A burn rate or a ratio to four significant digits: enough to compare, few enough to read.
pub fn figure(v: f64) -> String {
    let rounded = round_significant(v, 4);
    if rounded == 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded}")
    }
}

fn percent(ratio: f64) -> String {
    format!("{}%", figure(ratio * 100.0))
}

fn too_short(needs_from: f64) -> String {
    format!("not enough history (no data at {})", rfc3339(needs_from))
}

/// The budget, the burn rates and the conditions, as text and as a table.
pub fn summary(slo: &Slo, report: &Report) -> Bundle {
    let range = &report.range;
    let mut plain = format!(
        "SLO {} · objective {} over {} · {} .. {}\n",
        slo.name,
        slo.objective,
        slo.period.0,
        rfc3339(range.start),
        rfc3339(range.end)
    );
    let sli_now = match report.sli.last() {
        Some(&(_, v)) => percent(v),
        None => "no traffic in the window".to_owned(),
    };
    let _ = writeln!(plain, "SLI at the end (5m): {sli_now}");
    let budget_line = budget_text(slo, report);
    let _ = writeln!(plain, "{budget_line}");

    let mut burn_texts = Vec::new();
    let mut burn_cells = String::new();
    for burn in &report.burns {
        let text = match (&burn.seen, burn.now(range)) {
            (Seen::TooShort { needs_from }, _) => too_short(*needs_from),
            (_, Some(v)) => figure(v),
            (_, None) => "no traffic".to_owned(),
        };
        burn_texts.push(format!("{} {text}", burn.window.name));
        let _ = write!(
            burn_cells,
            "<tr><td{TEXT_ALIGN}>{}</td><td{NUMBER_ALIGN}>{}</td><td{TEXT_ALIGN}><code>{}</code></td></tr>",
            burn.window.name,
            escape_html(&text),
            escape_html(&burn.expr)
        );
    }
    let _ = writeln!(plain, "burn rate: {}", burn_texts.join(" · "));

    let mut alert_cells = String::new();
    for alert in &report.alerts {
        let (now, first) = match alert.state {
            AlertState::Unknown => ("unknown", "not enough history".to_owned()),
            AlertState::Known { now, first } => (
                if now { "FIRES" } else { "no" },
                first.map_or("did not fire".to_owned(), |t| {
                    format!("first at {}", rfc3339(t))
                }),
            ),
        };
        let rule = alert.rule.describe();
        let _ = writeln!(plain, "{rule}: fires now: {now}; in the window: {first}");
        let _ = write!(
            alert_cells,
            "<tr><td{TEXT_ALIGN}>{}</td><td{TEXT_ALIGN}>{now}</td><td{TEXT_ALIGN}>{}</td></tr>",
            escape_html(&rule),
            escape_html(&first)
        );
    }
    let _ = write!(plain, "burn rate over W: {}", slo.burn_expr("W"));

    let html = format!(
        "<div><b>SLO {}</b> · objective {} over {} · {}</div>\
         <div>SLI at the end (5m): {}</div><div>{}</div>\
         <table><thead><tr><th{TEXT_ALIGN}>condition</th><th{TEXT_ALIGN}>now</th><th{TEXT_ALIGN}>in the window</th></tr></thead><tbody>{alert_cells}</tbody></table>\
         <table><thead><tr><th{TEXT_ALIGN}>burn over</th><th{NUMBER_ALIGN}>at the end</th><th{TEXT_ALIGN}>expression</th></tr></thead><tbody>{burn_cells}</tbody></table>",
        escape_html(&slo.name),
        escape_html(&slo.objective),
        escape_html(&slo.period.0),
        escape_html(&super::format::window(range.start, range.end)),
        escape_html(&sli_now),
        escape_html(&budget_line),
    );
    Bundle::plain(plain).with("text/html", html)
}

fn budget_text(slo: &Slo, report: &Report) -> String {
    let seconds = |s: f64| duration(s.round());
    let budget = seconds(slo.budget_seconds());
    let left = match &report.budget.seen {
        Seen::TooShort { needs_from } => {
            return format!(
                "error budget over {}: {}",
                slo.period.0,
                too_short(*needs_from)
            )
        }
        Seen::Figure(None) => {
            return format!("error budget over {}: no traffic in it", slo.period.0)
        }
        Seen::Figure(Some(spent)) => 1.0 - spent,
    };
    let as_time = if left > 0.0 {
        format!("{} of {budget}", seconds(left * slo.budget_seconds()))
    } else {
        format!("overspent by {}", seconds(-left * slo.budget_seconds()))
    };
    let runs_out = match report.exhaustion(slo) {
        Exhaustion::Spent => "spent".to_owned(),
        Exhaustion::Never => "at the last hour's burn it does not run out".to_owned(),
        Exhaustion::In(in_seconds) => format!(
            "at the last hour's burn it runs out in {} ({})",
            duration(in_seconds.round()),
            rfc3339((report.range.end + in_seconds).round())
        ),
        Exhaustion::Unknown => {
            "when it runs out is not known (no burn over the last hour)".to_owned()
        }
    };
    format!(
        "error budget left: {} ({as_time}); {runs_out}",
        percent(left)
    )
}
