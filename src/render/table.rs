//! The summary table of a query: one row a series, every series, with figures from every raw
//! point. It is the exact half of a query's output, where the chart is the thinned one.
//!
//! One `<style>` block does the layout, and where a frontend strips it (GitHub, JupyterLab,
//! nbconvert's HTML) the table still reads: cells carry only their alignment inline, which keeps
//! a result of 500 series small.

use super::bundle::{escape_html, NUMBER_ALIGN, TEXT_ALIGN};
use super::chart::PALETTE;
use super::format::{compact, signed_percent};
use super::summary::{Change, Summary};
use std::fmt::Write;

/// What the plain text lists before it refers to the HTML table.
const PLAIN_ROWS: usize = 5;

pub struct Row<'a> {
    pub name: &'a str,
    pub summary: Summary,
    /// Against the baseline, when the query has one.
    pub change: Option<Change>,
    /// The line's colour in the chart, when it is drawn.
    pub color: Option<usize>,
}

pub struct Table<'a> {
    pub expr: &'a str,
    /// When the series were sampled: the window and step, or the time of an instant query.
    pub context: String,
    pub rows: Vec<Row<'a>>,
    /// The baseline's offset as written, as "-7d".
    pub baseline: Option<&'a str>,
    /// Baseline series whose labels no series of the result has: a series that went away.
    pub unmatched_baseline: usize,
}

impl Table<'_> {
    fn points(&self) -> usize {
        self.rows.iter().map(|r| r.summary.samples).sum()
    }

    fn heading(&self) -> String {
        let series = self.rows.len();
        format!(
            "{series} series, {} points · {}",
            self.points(),
            self.context
        )
    }

    /// What the figures leave out, said once under the table.
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let skipped: usize = self.rows.iter().map(|r| r.summary.non_finite).sum();
        if skipped > 0 {
            let series = self
                .rows
                .iter()
                .filter(|r| r.summary.non_finite > 0)
                .count();
            let (samples, were) = if skipped == 1 {
                ("sample", "was")
            } else {
                ("samples", "were")
            };
            notes.push(format!(
                "min, avg and max are over finite values only: {skipped} {samples} in {series} series {were} NaN or ±Inf"
            ));
        }
        if self.unmatched_baseline > 0 {
            let have = if self.unmatched_baseline == 1 {
                "has"
            } else {
                "have"
            };
            notes.push(format!(
                "{} series of the baseline {have} no match in the window (they went away, or their labels changed)",
                self.unmatched_baseline
            ));
        }
        notes
    }

    pub fn html(&self) -> String {
        let mut html = String::with_capacity(256 + 160 * self.rows.len());
        html.push_str("<style>.pb-query{border-collapse:collapse;font-size:12px}.pb-query caption{text-align:left;padding-bottom:4px}.pb-query th,.pb-query td{padding:1px 8px;border-bottom:1px solid #eee}.pb-query td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.pb-query td:first-child{text-align:left;font-family:monospace;white-space:normal}");
        for (i, color) in PALETTE.iter().enumerate() {
            let _ = write!(html, ".pb-query .c{i}{{color:{color}}}");
        }
        let _ = write!(
            html,
            "</style><table class=\"pb-query\"><caption{TEXT_ALIGN}><code>{}</code><br><span style=\"white-space:nowrap\">{} · highest max first</span></caption><thead><tr><th{TEXT_ALIGN}>series</th>",
            escape_html(self.expr),
            escape_html(&self.heading())
        );
        for figure in ["min", "avg", "max", "last", "samples"] {
            let _ = write!(html, "<th{NUMBER_ALIGN}>{figure}</th>");
        }
        if let Some(offset) = self.baseline {
            let _ = write!(
                html,
                "<th{NUMBER_ALIGN}>avg vs {}</th>",
                escape_html(offset)
            );
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            let _ = write!(html, "<tr><td{TEXT_ALIGN}>");
            if let Some(color) = row.color {
                let _ = write!(html, "<span class=\"c{color}\">■</span> ");
            }
            html.push_str(&escape_html(row.name));
            let [min, avg, max, last] = figures(&row.summary);
            let _ = write!(
                html,
                "</td><td{NUMBER_ALIGN}>{min}</td><td{NUMBER_ALIGN}>{avg}</td><td{NUMBER_ALIGN}>{max}</td><td{NUMBER_ALIGN}>{last}</td><td{NUMBER_ALIGN}>{}</td>",
                samples(&row.summary)
            );
            if let Some(change) = row.change {
                let _ = write!(html, "<td{NUMBER_ALIGN}>{}</td>", change_text(change));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody>");
        let notes = self.notes();
        if !notes.is_empty() {
            let columns = 6 + usize::from(self.baseline.is_some());
            let _ = write!(
                html,
                "<tfoot><tr><td colspan=\"{columns}\"{TEXT_ALIGN}>{}</td></tr></tfoot>",
                escape_html(&notes.join("; "))
            );
        }
        html.push_str("</table>");
        html
    }

    pub fn plain(&self) -> String {
        let mut text = format!("{}\n{}\n", self.expr, self.heading());
        for row in self.rows.iter().take(PLAIN_ROWS) {
            let [min, avg, max, last] = figures(&row.summary);
            let _ = write!(
                text,
                "  {}: min {min}  avg {avg}  max {max}  last {last}",
                row.name
            );
            if row.summary.non_finite > 0 {
                let _ = write!(text, "  ({} NaN/Inf)", row.summary.non_finite);
            }
            match (row.change, self.baseline) {
                (Some(Change::Unmatched), _) => text.push_str("  (not in baseline)"),
                (Some(change), Some(offset)) => {
                    let _ = write!(text, "  avg {} vs {offset}", change_text(change));
                }
                _ => {}
            }
            text.push('\n');
        }
        if self.rows.len() > PLAIN_ROWS {
            let _ = writeln!(
                text,
                "  +{} more series; the HTML table lists all",
                self.rows.len() - PLAIN_ROWS
            );
        }
        for note in self.notes() {
            let _ = writeln!(text, "{note}");
        }
        text.truncate(text.trim_end().len());
        text
    }
}

/// Min, avg, max and last, compact; a dash where a series has no finite value to sum up.
fn figures(s: &Summary) -> [String; 4] {
    let figure = |v: f64| {
        if s.has_figures() {
            compact(v)
        } else {
            "—".to_owned()
        }
    };
    [figure(s.min), figure(s.avg), figure(s.max), compact(s.last)]
}

fn samples(s: &Summary) -> String {
    if s.non_finite > 0 {
        format!("{} ({} NaN/Inf)", s.samples, s.non_finite)
    } else {
        s.samples.to_string()
    }
}

pub fn change_text(change: Change) -> String {
    match change {
        Change::Unmatched => "not in baseline".to_owned(),
        Change::Unknown => "—".to_owned(),
        Change::FromZero { now } if now > 0.0 => "up from 0".to_owned(),
        Change::FromZero { now } if now < 0.0 => "down from 0".to_owned(),
        Change::FromZero { .. } => "0%".to_owned(),
        Change::Percent(p) => signed_percent(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(name: &'a str, values: &[f64], change: Option<Change>) -> Row<'a> {
        let points: Vec<(f64, f64)> = values.iter().map(|&v| (0.0, v)).collect();
        Row {
            name,
            summary: Summary::of(&points),
            change,
            color: None,
        }
    }

    #[test]
    fn non_finite_values_show_as_prometheus_writes_them_and_are_noted() {
        let table = Table {
            expr: "x",
            context: "window".into(),
            rows: vec![
                row("{a=\"<b>\"}", &[1.0, f64::NAN, 3.0, f64::INFINITY], None),
                row("{a=\"c\"}", &[f64::NAN, f64::NEG_INFINITY], None),
            ],
            baseline: None,
            unmatched_baseline: 0,
        };
        let html = table.html();
        let right = |cells: &[&str]| {
            cells
                .iter()
                .map(|c| format!("<td style=\"text-align:right\">{c}</td>"))
                .collect::<String>()
        };
        assert!(html.contains(&format!(
            "<tr><td style=\"text-align:left\">{{a=&quot;&lt;b&gt;&quot;}}</td>{}",
            right(&["1", "2", "3", "+Inf", "4 (2 NaN/Inf)"])
        )));
        assert!(html.contains(&right(&["—", "—", "—", "-Inf"])));
        assert!(html.contains("4 samples in 2 series were NaN or ±Inf"));
        let plain = table.plain();
        assert!(
            plain.contains("min 1  avg 2  max 3  last +Inf  (2 NaN/Inf)"),
            "{plain}"
        );
    }

    #[test]
    fn changes_read_as_signed_percentages() {
        assert_eq!(change_text(Change::Percent(212.0)), "+212%");
        assert_eq!(change_text(Change::Percent(-50.0)), "-50%");
        assert_eq!(change_text(Change::FromZero { now: 2.0 }), "up from 0");
        assert_eq!(change_text(Change::Unmatched), "not in baseline");
    }
}
