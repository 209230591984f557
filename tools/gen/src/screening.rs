//! Name-only screening judged against a variant set (issue #26): each query
//! becomes a row `{"ref","name"}`, the rows go through creditgate's own
//! screening (`creditgate::screen::screen`, the code behind `POST
//! /v1/screen`), and each answer is compared with the subject the query was
//! made from.
//!
//! A row ends one of four ways:
//!
//! * **right**: decided on its target (or, for an `absent` name, decided
//!   without a subject);
//! * **wrong**: decided on another subject, or decided without a subject
//!   (every candidate got the same answer) while the target's own answer is
//!   another;
//! * **review**: sent to a person;
//! * **same answer**: decided without a subject, and the answer is the
//!   target's (counted apart from *right*: no subject was named).

use std::io::Cursor;

use anyhow::Context;
use serde::Serialize;

use creditgate::catalog::ActionId;
use creditgate::date::Date;
use creditgate::engine::Engine;
use creditgate::id::SubjectKey;
use creditgate::screen::input::{Format, Input};
use creditgate::screen::{Options, screen};

use crate::variants::{TYPES, Variant};

/// How the rows of one type (or of all) ended.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Ends {
    /// Rows.
    pub rows: usize,
    /// Decided on the target.
    pub right: usize,
    /// Decided on another subject, or without one against the target's answer.
    pub wrong: usize,
    /// Sent to review.
    pub review: usize,
    /// Decided without a subject, the answer the target's.
    pub same_answer: usize,
    /// Rows the set marks ambiguous.
    pub ambiguous: usize,
    /// Of those, decided on the target.
    pub ambiguous_right: usize,
    /// Of those, decided wrongly.
    pub ambiguous_wrong: usize,
}

impl Ends {
    fn add(&mut self, o: &Ends) {
        self.rows += o.rows;
        self.right += o.right;
        self.wrong += o.wrong;
        self.review += o.review;
        self.same_answer += o.same_answer;
        self.ambiguous += o.ambiguous;
        self.ambiguous_right += o.ambiguous_right;
        self.ambiguous_wrong += o.ambiguous_wrong;
    }

    /// A share of the rows.
    pub fn share(&self, n: usize) -> f64 {
        n as f64 / self.rows.max(1) as f64
    }
}

/// What [`judge`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// Per type, in [`TYPES`] order (types absent from the set left out).
    pub types: Vec<(String, Ends)>,
    /// Over all rows.
    pub all: Ends,
    /// Rows screened per second (one thread).
    pub rows_per_second: f64,
    /// The rows decided wrongly: the query, its type, its target and the
    /// answer's line.
    pub wrong_rows: Vec<serde_json::Value>,
}

/// Screens every query of `set` as a name-only row under `options` and
/// compares each answer with the query's target.
pub fn judge(engine: &Engine, set: &[Variant], options: &Options) -> anyhow::Result<Judgement> {
    let mut rows = Vec::new();
    for (i, v) in set.iter().enumerate() {
        serde_json::to_writer(&mut rows, &serde_json::json!({"ref": i, "name": v.query}))?;
        rows.push(b'\n');
    }
    let input = Input::open(Cursor::new(rows), Some(Format::Ndjson), None)?;
    let mut out = Vec::new();
    let started = std::time::Instant::now();
    screen(engine, options, input, &mut out, &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let mut per_type = vec![Ends::default(); TYPES.len()];
    let mut wrong_rows = Vec::new();
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let answer: serde_json::Value = serde_json::from_slice(line)?;
        let Some(i) = answer["ref"].as_u64() else {
            continue; // the summary
        };
        let v = &set[i as usize];
        let t = TYPES
            .iter()
            .position(|t| *t == v.kind)
            .with_context(|| format!("unknown type {:?}", v.kind))?;
        let decision = answer["decision"].as_str().unwrap_or("");
        let matched = answer["match"]["id"].as_str();
        let target_answer = match &v.target {
            Some(t) => verdict(engine, t, options.action, options.at)?,
            None => "allow",
        };
        let mut e = Ends {
            rows: 1,
            ambiguous: usize::from(v.ambiguous),
            ..Ends::default()
        };
        match (decision, matched) {
            ("review", _) => e.review = 1,
            (_, Some(id)) if Some(id) == v.target.as_deref() => e.right = 1,
            (_, Some(_)) => e.wrong = 1,
            (d, None) if v.target.is_none() && d == target_answer => e.right = 1,
            (d, None) if d == target_answer => e.same_answer = 1,
            (_, None) => e.wrong = 1,
        }
        if e.wrong == 1 {
            wrong_rows.push(serde_json::json!({
                "type": v.kind, "query": v.query, "target": v.target,
                "target_decision": target_answer, "answer": answer,
            }));
        }
        if v.ambiguous {
            e.ambiguous_right = e.right;
            e.ambiguous_wrong = e.wrong;
        }
        per_type[t].add(&e);
    }
    let mut all = Ends::default();
    for e in &per_type {
        all.add(e);
    }
    Ok(Judgement {
        types: TYPES
            .iter()
            .zip(per_type)
            .filter(|(_, e)| e.rows > 0)
            .map(|(t, e)| (t.to_string(), e))
            .collect(),
        all,
        rows_per_second: set.len() as f64 / seconds.max(1e-9),
        wrong_rows,
    })
}

fn verdict(engine: &Engine, id: &str, action: ActionId, at: Date) -> anyhow::Result<&'static str> {
    let key = SubjectKey::parse(id).with_context(|| format!("target {id}"))?;
    Ok(engine.verdict(key, action, at)?.as_str())
}

/// One setting of the screening's thresholds and what it came to.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The minimum score of a match.
    pub min_score: f64,
    /// The most changes of a match.
    pub max_changes: u8,
    /// Rows made by changes to real names (every type but `absent`).
    pub changed: Ends,
    /// Rows naming no subject (`absent`).
    pub absent: Ends,
}

/// Screens `set` at every minimum score from 0.6 to 0.9 (steps of 0.05) and
/// every maximum of changes from 0 to 2, the rest of `options` as given.
pub fn sweep(engine: &Engine, set: &[Variant], options: &Options) -> anyhow::Result<Vec<Point>> {
    let mut points = Vec::new();
    for max_changes in 0..=creditgate::search::PLAUSIBLE_CHANGES {
        for step in 0..=6 {
            let min_score = 0.6 + 0.05 * f64::from(step);
            let o = Options {
                min_score,
                max_changes,
                ..options.clone()
            };
            let j = judge(engine, set, &o)?;
            let mut changed = Ends::default();
            let mut absent = Ends::default();
            for (t, e) in &j.types {
                if t == "absent" {
                    absent.add(e);
                } else {
                    changed.add(e);
                }
            }
            points.push(Point {
                min_score,
                max_changes,
                changed,
                absent,
            });
        }
    }
    Ok(points)
}

/// The sweep as CSV: one line per setting, shares in percent.
pub fn sweep_csv(points: &[Point]) -> String {
    let mut out = String::from(
        "min_score,max_changes,rows,right_pct,wrong_pct,review_pct,same_answer_pct,absent_rows,absent_decided_on_a_subject_pct\n",
    );
    for p in points {
        let c = &p.changed;
        out.push_str(&format!(
            "{:.2},{},{},{:.3},{:.3},{:.3},{:.3},{},{:.3}\n",
            p.min_score,
            p.max_changes,
            c.rows,
            100.0 * c.share(c.right),
            100.0 * c.share(c.wrong),
            100.0 * c.share(c.review),
            100.0 * c.share(c.same_answer),
            p.absent.rows,
            100.0 * p.absent.share(p.absent.wrong),
        ));
    }
    out
}

impl Point {
    /// Rows decided on a wrong subject, in percent of every row (made by
    /// changes and absent alike).
    pub fn wrong_pct(&self) -> f64 {
        100.0 * (self.changed.wrong + self.absent.wrong) as f64
            / (self.changed.rows + self.absent.rows).max(1) as f64
    }
}

/// The sweep as an SVG plot: review rate of the rows made by changes (x)
/// against the rows decided on a wrong subject, absent names included (y),
/// one line per maximum of changes, each point labelled with its minimum
/// score.
pub fn sweep_svg(points: &[Point]) -> String {
    let (w, h, left, bottom) = (720.0, 480.0, 70.0, 50.0);
    let x_max = points
        .iter()
        .map(|p| 100.0 * p.changed.share(p.changed.review))
        .fold(1.0_f64, f64::max)
        .ceil();
    let y_max = points.iter().map(Point::wrong_pct).fold(0.05_f64, f64::max) * 1.1;
    let x = |v: f64| left + (w - left - 20.0) * v / x_max;
    let y = |v: f64| h - bottom - (h - bottom - 20.0) * v / y_max;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/><line x1=\"{left}\" y1=\"20\" x2=\"{left}\" y2=\"{0}\" stroke=\"black\"/>\n",
        h - bottom,
        w - 20.0
    ));
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">review rate, % of rows made by changes (0 to {x_max}%)</text>\n",
        (w + left) / 2.0,
        h - 15.0
    ));
    svg.push_str(&format!(
        "<text x=\"15\" y=\"{}\" transform=\"rotate(-90 15 {})\" text-anchor=\"middle\">decided on a wrong subject, % of all rows, absent names included (0 to {:.2}%)</text>\n",
        h / 2.0,
        h / 2.0,
        y_max
    ));
    // The target: wrong ≤ 0.05%.
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"red\" stroke-dasharray=\"4 3\"/><text x=\"{1}\" y=\"{2}\" text-anchor=\"end\" fill=\"red\">target 0.05%</text>\n",
        y(0.05),
        w - 20.0,
        y(0.05) - 4.0
    ));
    let colours = ["#1f77b4", "#ff7f0e", "#2ca02c"];
    for max_changes in 0..=creditgate::search::PLAUSIBLE_CHANGES {
        let colour = colours[usize::from(max_changes) % colours.len()];
        let line: Vec<&Point> = points
            .iter()
            .filter(|p| p.max_changes == max_changes)
            .collect();
        let path: Vec<String> = line
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    x(100.0 * p.changed.share(p.changed.review)),
                    y(p.wrong_pct())
                )
            })
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" points=\"{}\"/>\n",
            path.join(" ")
        ));
        for p in &line {
            let (px, py) = (
                x(100.0 * p.changed.share(p.changed.review)),
                y(p.wrong_pct()),
            );
            svg.push_str(&format!(
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\">{:.2}</text>\n",
                px + 4.0,
                py - 4.0 - 10.0 * f64::from(max_changes),
                p.min_score
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\">max_changes {max_changes}</text>\n",
            w - 140.0,
            30.0 + 14.0 * f64::from(max_changes)
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
