//! The catalog file as written (`data/catalog.toml`), and the checks that
//! turn it into a [`Catalog`]: codes known, unique and well formed, every
//! category with measures on its own list, publication windows and feedback
//! days within bounds. An error names the file, the item and what is wrong.
//! [`super`] keeps the loaded catalog and the questions asked of it.

use std::collections::HashMap;

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogFile {
    version: u32,
    #[serde(default)]
    action: Vec<ActionFile>,
    #[serde(default)]
    category: Vec<CategoryFile>,
    #[serde(default)]
    measure: Vec<MeasureFile>,
    clean_record: Option<CleanRecordFile>,
    #[serde(default)]
    window: Vec<WindowFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    severity: Severity,
    published: bool,
    min_months: u16,
    max_months: u16,
    source: String,
    verified: bool,
    #[serde(default)]
    checked_against: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    code: String,
    name: String,
    feedback_days: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    code: String,
    name: String,
    list: ListKind,
    subjects: Vec<SubjectKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureFile {
    code: String,
    name: String,
    mandatory: bool,
    departments: Vec<String>,
    categories: Vec<String>,
    #[serde(default)]
    restricts: Vec<String>,
    #[serde(default)]
    grants: Vec<String>,
    #[serde(default)]
    extends_to: Vec<Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanRecordFile {
    years: u16,
    grants: Vec<String>,
}

pub(super) struct Builder<'a> {
    pub(super) origin: &'a str,
}

impl Builder<'_> {
    fn err(&self, item: String, problem: impl Into<String>) -> CatalogError {
        CatalogError::Item {
            path: self.origin.to_string(),
            item,
            problem: problem.into(),
        }
    }

    fn check_code(&self, item: &str, code: &str) -> Result<(), CatalogError> {
        let ok = !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(self.err(
                format!("{item} {code:?}"),
                "a code is 1-64 characters of a-z, 0-9 and _",
            ));
        }
        Ok(())
    }

    fn check_name(&self, item: &str, code: &str, name: &str) -> Result<(), CatalogError> {
        if name.trim().is_empty() {
            return Err(self.err(format!("{item} {code:?}"), "name must not be empty"));
        }
        Ok(())
    }

    /// The publication windows: none, or one per severity, each shortest
    /// no longer than longest, a published one with a longest.
    fn windows(&self, file: Vec<WindowFile>) -> Result<Vec<Window>, CatalogError> {
        let mut windows: Vec<Window> = Vec::with_capacity(file.len());
        for w in file {
            let item = format!("window {:?}", w.severity.as_str());
            if windows.iter().any(|o| o.severity == w.severity) {
                return Err(self.err(item, "given twice"));
            }
            if w.min_months > w.max_months {
                return Err(self.err(
                    item,
                    format!(
                        "min_months {} is above max_months {}",
                        w.min_months, w.max_months
                    ),
                ));
            }
            if w.published && w.max_months == 0 {
                return Err(self.err(item, "published, but max_months is 0"));
            }
            if w.source.trim().is_empty() {
                return Err(self.err(item, "source is empty: name the rule it comes from"));
            }
            windows.push(Window {
                severity: w.severity,
                published: w.published,
                min_months: w.min_months,
                max_months: w.max_months,
                source: w.source.trim().to_string(),
                verified: w.verified,
                checked_against: w.checked_against,
            });
        }
        if !windows.is_empty()
            && let Some(missing) = Severity::ALL
                .iter()
                .find(|s| !windows.iter().any(|w| w.severity == **s))
        {
            return Err(self.err(
                "[[window]]".into(),
                format!(
                    "no window for severity {:?}: give one per severity, or none",
                    missing.as_str()
                ),
            ));
        }
        windows.sort_by_key(|w| w.severity as u8);
        Ok(windows)
    }

    pub(super) fn build(&self, file: CatalogFile) -> Result<Catalog, CatalogError> {
        if file.version != FORMAT_VERSION {
            return Err(self.err(
                "version".into(),
                format!(
                    "catalog format version {} is not supported; this build reads version {FORMAT_VERSION}",
                    file.version
                ),
            ));
        }
        let mut action_index = HashMap::new();
        let mut actions = Vec::with_capacity(file.action.len());
        for a in file.action {
            self.check_code("action", &a.code)?;
            self.check_name("action", &a.code, &a.name)?;
            let id = ActionId(actions.len() as u16);
            if action_index.insert(a.code.clone(), id).is_some() {
                return Err(self.err(format!("action {:?}", a.code), "duplicate code"));
            }
            if a.feedback_days == Some(0) || a.feedback_days > Some(MAX_FEEDBACK_DAYS) {
                return Err(self.err(
                    format!("action {:?}", a.code),
                    format!("feedback_days must be 1 to {MAX_FEEDBACK_DAYS} (working days)"),
                ));
            }
            actions.push(Action {
                code: a.code,
                name: a.name,
                feedback_days: a.feedback_days,
            });
        }
        if actions.is_empty() {
            return Err(self.err("[[action]]".into(), "the catalog declares no actions"));
        }
        let mut category_index = HashMap::new();
        let mut categories = Vec::with_capacity(file.category.len());
        for c in file.category {
            self.check_code("category", &c.code)?;
            self.check_name("category", &c.code, &c.name)?;
            if c.subjects.is_empty() {
                return Err(self.err(
                    format!("category {:?}", c.code),
                    "subjects must name org, person or both",
                ));
            }
            let id = CategoryId(categories.len() as u16);
            if category_index.insert(c.code.clone(), id).is_some() {
                return Err(self.err(format!("category {:?}", c.code), "duplicate code"));
            }
            categories.push(Category {
                code: c.code,
                name: c.name,
                list: c.list,
                subjects: c.subjects,
                measures: Vec::new(),
                extends_to: RoleSet::EMPTY,
            });
        }
        let mut measures: Vec<Measure> = Vec::with_capacity(file.measure.len());
        for m in file.measure {
            self.check_code("measure", &m.code)?;
            self.check_name("measure", &m.code, &m.name)?;
            let item = format!("measure {:?}", m.code);
            if measures.iter().any(|x| x.code == m.code) {
                return Err(self.err(item, "duplicate code"));
            }
            if m.departments.iter().all(|d| d.trim().is_empty()) {
                return Err(self.err(item, "names no implementing department"));
            }
            let (effect, action_codes) = match (m.restricts.is_empty(), m.grants.is_empty()) {
                (false, true) => (Effect::Restricts, &m.restricts),
                (true, false) => (Effect::Grants, &m.grants),
                (true, true) => return Err(self.err(item, "restricts or grants no action")),
                (false, false) => {
                    return Err(self.err(item, "has both restricts and grants; split it in two"));
                }
            };
            let mut action_ids = Vec::with_capacity(action_codes.len());
            for code in action_codes {
                let id = action_index.get(code).copied().ok_or_else(|| {
                    self.err(
                        item.clone(),
                        format!("unknown action {code:?}; declare it as an [[action]] first"),
                    )
                })?;
                action_ids.push(id);
            }
            if effect == Effect::Grants && !m.extends_to.is_empty() {
                return Err(self.err(item, "an incentive does not extend to persons"));
            }
            if m.categories.is_empty() {
                return Err(self.err(item, "belongs to no category"));
            }
            let id = MeasureId(measures.len() as u16);
            let mut category_ids = Vec::with_capacity(m.categories.len());
            for code in &m.categories {
                let cid = category_index
                    .get(code)
                    .copied()
                    .ok_or_else(|| self.err(item.clone(), format!("unknown category {code:?}")))?;
                let category = &mut categories[cid.0 as usize];
                let expected = match category.list {
                    ListKind::Black => Effect::Restricts,
                    ListKind::Red => Effect::Grants,
                };
                if effect != expected {
                    return Err(self.err(
                        item.clone(),
                        format!(
                            "category {code:?} is a {} list category, so its measures must {}",
                            category.list.as_str(),
                            if expected == Effect::Restricts {
                                "restrict"
                            } else {
                                "grant"
                            }
                        ),
                    ));
                }
                category.measures.push(id);
                category_ids.push(cid);
            }
            let extends_to: RoleSet = m.extends_to.iter().copied().collect();
            for cid in &category_ids {
                let category = &mut categories[cid.0 as usize];
                category.extends_to = category.extends_to.union(extends_to);
            }
            measures.push(Measure {
                code: m.code,
                name: m.name,
                mandatory: m.mandatory,
                departments: m.departments,
                categories: category_ids,
                effect,
                actions: action_ids,
                extends_to,
            });
        }
        if let Some(c) = categories.iter().find(|c| c.measures.is_empty()) {
            return Err(self.err(format!("category {:?}", c.code), "has no measures"));
        }
        let clean_record = match file.clean_record {
            None => None,
            Some(rule) => {
                if rule.years == 0 {
                    return Err(self.err("clean_record".into(), "years must be at least 1"));
                }
                let mut ids = Vec::new();
                for code in &rule.grants {
                    let id = measures
                        .iter()
                        .position(|m| &m.code == code && m.effect == Effect::Grants)
                        .ok_or_else(|| {
                            self.err(
                                "clean_record".into(),
                                format!("grants {code:?}, which is not an incentive measure"),
                            )
                        })?;
                    ids.push(MeasureId(id as u16));
                }
                Some(CleanRecordRule {
                    years: rule.years,
                    measures: ids,
                })
            }
        };
        let windows = self.windows(file.window)?;
        let mut restrictions = vec![Vec::new(); categories.len() * actions.len()];
        for (ci, category) in categories.iter().enumerate() {
            for &mid in &category.measures {
                let m = &measures[mid.0 as usize];
                if m.effect != Effect::Restricts {
                    continue;
                }
                for a in &m.actions {
                    restrictions[ci * actions.len() + a.0 as usize].push(mid);
                }
            }
        }
        for list in &mut restrictions {
            list.sort_by_key(|m| !measures[m.0 as usize].mandatory);
        }
        Ok(Catalog {
            actions,
            categories,
            measures,
            clean_record,
            windows,
            action_index,
            category_index,
            restrictions,
        })
    }
}
