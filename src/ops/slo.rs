//! Service level objectives, alerted on as the SRE workbook does (chapter 5: multiwindow,
//! multi-burn-rate alerts): the error budget left over the period, the burn rate over seven
//! windows, and the four page and ticket conditions over them.
//!
//! Every figure is a PromQL expression the source evaluates, so a Prometheus server and the
//! embedded engine answer the same questions, the journal records them as it records queries,
//! and a reader can paste any of them into Prometheus to check it. A burn window reaching back
//! before the source's data is reported as too short, never computed on less.

use super::metrics::{MetricsSource, QueryResult, Range, SourceError};

/// What a statement declares: the SLI as two counters, good events and all events.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub name: String,
    /// The objective as written, as "99.9%".
    pub objective: String,
    /// The objective as a ratio, 0.999.
    pub ratio: f64,
    /// A counter's selector: the good events.
    pub good: String,
    /// A counter's selector: every event.
    pub total: String,
    /// The budget's period as written ("30d"), and in seconds.
    pub period: (String, f64),
}

/// A window a burn rate is measured over.
#[derive(Debug, PartialEq)]
pub struct BurnWindow {
    pub name: &'static str,
    pub seconds: f64,
}

const fn window(name: &'static str, seconds: f64) -> BurnWindow {
    BurnWindow { name, seconds }
}

/// The workbook's windows, shortest first.
pub const BURN_WINDOWS: [BurnWindow; 7] = [
    window("5m", 300.0),
    window("30m", 1800.0),
    window("1h", 3600.0),
    window("2h", 7200.0),
    window("6h", 21600.0),
    window("1d", 86400.0),
    window("3d", 259200.0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Page,
    Ticket,
}

/// One of the workbook's conditions: both windows burn faster than `factor`.
#[derive(Debug, PartialEq)]
pub struct Rule {
    pub severity: Severity,
    /// Indexes into [`BURN_WINDOWS`].
    pub long: usize,
    pub short: usize,
    pub factor: f64,
}

/// The workbook's four conditions (table 5-8): 2% of a 30-day budget spent in an hour, 5% in
/// six hours, 10% in a day, 10% in three days.
pub const RULES: [Rule; 4] = [
    Rule {
        severity: Severity::Page,
        long: 2,
        short: 0,
        factor: 14.4,
    },
    Rule {
        severity: Severity::Page,
        long: 4,
        short: 1,
        factor: 6.0,
    },
    Rule {
        severity: Severity::Ticket,
        long: 5,
        short: 3,
        factor: 3.0,
    },
    Rule {
        severity: Severity::Ticket,
        long: 6,
        short: 4,
        factor: 1.0,
    },
];

impl Rule {
    pub fn describe(&self) -> String {
        format!(
            "{}: {} and {} above {}",
            match self.severity {
                Severity::Page => "page",
                Severity::Ticket => "ticket",
            },
            BURN_WINDOWS[self.long].name,
            BURN_WINDOWS[self.short].name,
            self.factor
        )
    }
}

impl Slo {
    /// The burn rate over `window`: the share of events that were not good, over the share the
    /// objective allows.
    pub fn burn_expr(&self, window: &str) -> String {
        format!(
            "(1 - sum(rate({good}[{window}])) / sum(rate({total}[{window}]))) / (1 - {ratio})",
            good = self.good,
            total = self.total,
            ratio = self.ratio
        )
    }

    /// The SLI the chart draws: the share of good events over five minutes.
    pub fn sli_expr(&self) -> String {
        format!(
            "sum(rate({}[5m])) / sum(rate({}[5m]))",
            self.good, self.total
        )
    }

    /// Answers at a time when the source holds data of the total counter then.
    fn history_expr(&self) -> String {
        format!("count({})", self.total)
    }

    /// The objective's budget over the period, in seconds of total failure.
    pub fn budget_seconds(&self) -> f64 {
        (1.0 - self.ratio) * self.period.1
    }
}

/// A figure, or why it was not computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen<T> {
    Figure(T),
    /// The source holds no data of the total counter at `needs_from`, where the window starts.
    TooShort {
        needs_from: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Burn {
    pub window: &'static BurnWindow,
    pub expr: String,
    /// The burn rate at each step of the range; a step without traffic has no point.
    pub seen: Seen<Vec<(f64, f64)>>,
}

impl Burn {
    /// The burn rate at the range's last step, when there is one.
    pub fn now(&self, range: &Range) -> Option<f64> {
        match &self.seen {
            Seen::Figure(points) => points
                .last()
                .filter(|(t, _)| *t > range.end - range.step)
                .map(|p| p.1),
            Seen::TooShort { .. } => None,
        }
    }
}

/// The burn rate over the whole period, at the range's end: the share of the budget spent.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub expr: String,
    /// `None`: no traffic over the period.
    pub seen: Seen<Option<f64>>,
}

impl Budget {
    /// The share of the budget left, 1 when nothing was spent, negative when overspent.
    pub fn left(&self) -> Option<f64> {
        match self.seen {
            Seen::Figure(Some(spent)) => Some(1.0 - spent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlertState {
    /// A window of the rule reaches back before the data.
    Unknown,
    Known {
        /// Whether it fires at the range's last step.
        now: bool,
        /// The first step of the range at which it fires.
        first: Option<f64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub rule: &'static Rule,
    pub state: AlertState,
}

/// What an SLO looked like over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub range: Range,
    pub sli_expr: String,
    /// The SLI at each step.
    pub sli: Vec<(f64, f64)>,
    /// In [`BURN_WINDOWS`] order.
    pub burns: Vec<Burn>,
    pub budget: Budget,
    /// In [`RULES`] order.
    pub alerts: Vec<Alert>,
}

/// When the budget runs out at the current burn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exhaustion {
    Spent,
    /// No burn now: it does not run out.
    Never,
    /// In this many seconds.
    In(f64),
    /// The budget or the burn is not known.
    Unknown,
}

impl Report {
    /// The burn rate the budget's exhaustion is projected from: the last hour's.
    pub const CURRENT: usize = 2;

    pub fn exhaustion(&self, slo: &Slo) -> Exhaustion {
        let (Some(left), Some(burn)) = (
            self.budget.left(),
            self.burns[Self::CURRENT].now(&self.range),
        ) else {
            return Exhaustion::Unknown;
        };
        if left <= 0.0 {
            Exhaustion::Spent
        } else if burn <= 0.0 {
            Exhaustion::Never
        } else {
            Exhaustion::In(left * slo.period.1 / burn)
        }
    }

    /// The page conditions that fired in the range, with the first step each fired at; and
    /// the page conditions that could not be told.
    pub fn pages(&self) -> (Vec<(&'static Rule, f64)>, Vec<&'static Rule>) {
        let mut fired = Vec::new();
        let mut unknown = Vec::new();
        for alert in &self.alerts {
            if alert.rule.severity != Severity::Page {
                continue;
            }
            match alert.state {
                AlertState::Known {
                    first: Some(at), ..
                } => fired.push((alert.rule, at)),
                AlertState::Known { first: None, .. } => {}
                AlertState::Unknown => unknown.push(alert.rule),
            }
        }
        (fired, unknown)
    }
}

/// Asks `source` every figure of `slo` over `range`.
pub async fn evaluate(
    slo: &Slo,
    source: &dyn MetricsSource,
    range: &Range,
) -> Result<Report, SourceError> {
    let sli_expr = slo.sli_expr();
    let sli = first_series(source.query_range(&sli_expr, range).await?.result);
    let mut burns = Vec::with_capacity(BURN_WINDOWS.len());
    for window in &BURN_WINDOWS {
        let expr = slo.burn_expr(window.name);
        let needs_from = range.start - window.seconds;
        let seen = if has_data_at(slo, source, needs_from).await? {
            Seen::Figure(first_series(source.query_range(&expr, range).await?.result))
        } else {
            Seen::TooShort { needs_from }
        };
        burns.push(Burn { window, expr, seen });
    }
    let expr = slo.burn_expr(&slo.period.0);
    let needs_from = range.end - slo.period.1;
    let seen = if has_data_at(slo, source, needs_from).await? {
        let answer = source.query_instant(&expr, range.end).await?.result;
        Seen::Figure(scalar_of(&answer))
    } else {
        Seen::TooShort { needs_from }
    };
    let alerts = RULES
        .iter()
        .map(|rule| Alert {
            rule,
            state: alert_state(rule, &burns, range),
        })
        .collect();
    Ok(Report {
        range: *range,
        sli_expr,
        sli,
        burns,
        budget: Budget { expr, seen },
        alerts,
    })
}

async fn has_data_at(
    slo: &Slo,
    source: &dyn MetricsSource,
    time: f64,
) -> Result<bool, SourceError> {
    let answer = source.query_instant(&slo.history_expr(), time).await?;
    Ok(match answer.result {
        QueryResult::Vector(samples) => !samples.is_empty(),
        QueryResult::Scalar { value, .. } => value > 0.0,
        QueryResult::Matrix(series) => !series.is_empty(),
        QueryResult::String { .. } => false,
    })
}

/// The points of a `sum(...)` result: it has one series, or none without data.
fn first_series(result: QueryResult) -> Vec<(f64, f64)> {
    match result {
        QueryResult::Matrix(series) => series
            .into_iter()
            .next()
            .map(|s| s.points.into_iter().filter(|p| p.1.is_finite()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn scalar_of(result: &QueryResult) -> Option<f64> {
    match result {
        QueryResult::Vector(samples) => samples.first().map(|s| s.value),
        QueryResult::Scalar { value, .. } => Some(*value),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// Whether `rule` fires at the last step and where it first fires: at the steps where both of
/// its windows have a burn rate above its factor.
fn alert_state(rule: &Rule, burns: &[Burn], range: &Range) -> AlertState {
    let (Seen::Figure(long), Seen::Figure(short)) =
        (&burns[rule.long].seen, &burns[rule.short].seen)
    else {
        return AlertState::Unknown;
    };
    // Both come from range queries over the same steps; a step may lack a point in either.
    let key = |t: f64| (t * 1000.0).round() as i64;
    let short: std::collections::HashMap<i64, f64> =
        short.iter().map(|&(t, v)| (key(t), v)).collect();
    let firing: Vec<f64> = long
        .iter()
        .filter(|&&(t, v)| v > rule.factor && short.get(&key(t)).is_some_and(|&s| s > rule.factor))
        .map(|&(t, _)| t)
        .collect();
    AlertState::Known {
        now: firing.last().is_some_and(|&t| t > range.end - range.step),
        first: firing.first().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo() -> Slo {
        Slo {
            name: "checkout".into(),
            objective: "99.9%".into(),
            ratio: 0.999,
            good: r#"requests_total{code!~"5.."}"#.into(),
            total: "requests_total".into(),
            period: ("30d".into(), 30.0 * 86400.0),
        }
    }

    #[test]
    fn the_burn_rate_is_the_error_ratio_over_the_budget() {
        assert_eq!(
            slo().burn_expr("1h"),
            r#"(1 - sum(rate(requests_total{code!~"5.."}[1h])) / sum(rate(requests_total[1h]))) / (1 - 0.999)"#
        );
        assert!((slo().budget_seconds() - 2592.0).abs() < 1e-6);
    }

    fn burn(window: usize, points: &[(f64, f64)]) -> Burn {
        Burn {
            window: &BURN_WINDOWS[window],
            expr: String::new(),
            seen: Seen::Figure(points.to_vec()),
        }
    }

    #[test]
    fn a_rule_fires_where_both_windows_burn_too_fast() {
        let range = Range {
            start: 0.0,
            end: 180.0,
            step: 60.0,
        };
        let mut burns: Vec<Burn> = (0..7).map(|w| burn(w, &[])).collect();
        burns[2] = burn(
            2,
            &[(0.0, 20.0), (60.0, 20.0), (120.0, 20.0), (180.0, 13.0)],
        );
        burns[0] = burn(
            0,
            &[(0.0, 10.0), (60.0, 15.0), (120.0, 15.0), (180.0, 15.0)],
        );
        assert_eq!(
            alert_state(&RULES[0], &burns, &range),
            AlertState::Known {
                now: false,
                first: Some(60.0)
            }
        );
        burns[4].seen = Seen::TooShort { needs_from: -1.0 };
        assert_eq!(alert_state(&RULES[1], &burns, &range), AlertState::Unknown);
    }

    const VALUES: [f64; 10] = [
        0.0,
        1.0,
        14.4,
        14.5,
        -3.0,
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
        1e300,
        -1e-300,
    ];

    fn points(rng: &mut fastrand::Rng) -> Vec<(f64, f64)> {
        (0..rng.usize(0..60))
            .map(|i| (60.0 * i as f64, VALUES[rng.usize(..VALUES.len())]))
            .collect()
    }

    /// Whatever a source answers (NaN, infinities, nothing, absurd periods), the report and its
    /// summary are made without a panic.
    #[test]
    fn random_answers_make_a_report() {
        let mut rng = fastrand::Rng::with_seed(0x5105);
        for _ in 0..2_000 {
            let range = Range {
                start: 0.0,
                end: 60.0 * rng.u32(0..50) as f64,
                step: 60.0,
            };
            let burns: Vec<Burn> = (0..7)
                .map(|w| Burn {
                    window: &BURN_WINDOWS[w],
                    expr: String::new(),
                    seen: if rng.bool() {
                        Seen::Figure(points(&mut rng))
                    } else {
                        Seen::TooShort { needs_from: -1e18 }
                    },
                })
                .collect();
            let mut slo = slo();
            slo.period.1 = [3600.0, 1e15, f64::MAX][rng.usize(..3)];
            let report = Report {
                range,
                sli_expr: String::new(),
                sli: points(&mut rng),
                alerts: RULES
                    .iter()
                    .map(|rule| Alert {
                        rule,
                        state: alert_state(rule, &burns, &range),
                    })
                    .collect(),
                burns,
                budget: Budget {
                    expr: String::new(),
                    seen: Seen::Figure(Some(VALUES[rng.usize(..VALUES.len())])),
                },
            };
            let _ = report.exhaustion(&slo);
            let _ = report.pages();
            let shown = crate::render::slo::report(&slo, &report);
            assert!(!shown.is_empty());
        }
    }
}
