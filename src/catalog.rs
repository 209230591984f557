//! The measures catalog (措施清单): which measures apply to each list category,
//! whether each is mandatory, which actions it restricts or grants, who
//! implements it, and to which person roles it extends (SPEC §4).
//!
//! The catalog is data (`data/catalog.toml`), loaded and fully checked at start:
//! an unknown action or category, a duplicate code, a category without
//! measures or a measure on the wrong list is an error naming the file and the
//! item, and the engine does not start. The bundled file is compiled in
//! ([`Catalog::bundled`]) so the binary works from any directory; operators
//! replace it with [`Catalog::load`].
//!
//! Codes become small integer ids ([`ActionId`], [`CategoryId`], [`MeasureId`])
//! and the restriction table is precomputed per category and action, so the
//! decision rule reads the catalog without hashing or allocating.
//!
//! ```
//! use creditgate::catalog::Catalog;
//! let catalog = Catalog::bundled();
//! let flight = catalog.action_by_code("flight").unwrap();
//! let debtor = catalog.category_by_code("dishonest_debtor").unwrap();
//! let measures = catalog.restricting(debtor, flight);
//! assert_eq!(catalog.measure(measures[0]).code, "debtor_flight");
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::id::SubjectKind;
use crate::vocab::{ListKind, Role, RoleSet, Severity};

/// The catalog shipped with creditgate.
pub const BUNDLED_TOML: &str = include_str!("../data/catalog.toml");
/// The file format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// Index of an action in its catalog.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(pub u16);
/// Index of a category in its catalog.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(pub u16);
/// Index of a measure in its catalog.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeasureId(pub u16);

/// Most working days a catalog may give for feedback (a year's worth).
pub const MAX_FEEDBACK_DAYS: u16 = 250;

/// An action a query asks about, or an incentive grants.
#[derive(Clone, Debug)]
pub struct Action {
    /// Stable code (`flight`).
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// Days (working days, by the work calendar) within which the
    /// implementing department must report what it did with a deny or
    /// caution on this action (执行反馈); `None`: no feedback demanded.
    pub feedback_days: Option<u16>,
}

/// A list category.
#[derive(Clone, Debug)]
pub struct Category {
    /// Stable code (`dishonest_debtor`).
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// Black or red.
    pub list: ListKind,
    /// Kinds of subject the category holds.
    pub subjects: Vec<SubjectKind>,
    /// Its measures, in file order.
    pub measures: Vec<MeasureId>,
    /// Roles any of its measures extends to.
    pub extends_to: RoleSet,
}

impl Category {
    /// Whether the category may hold a subject of `kind`.
    pub fn holds(&self, kind: SubjectKind) -> bool {
        self.subjects.contains(&kind)
    }
}

/// Whether a measure restricts (black list) or grants (red list) its actions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Joint punishment: the actions are restricted.
    Restricts,
    /// Joint incentive: the actions are granted.
    Grants,
}

/// A measure.
#[derive(Clone, Debug)]
pub struct Measure {
    /// Stable code (`debtor_flight`).
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// 强制性 (true) or 推荐性 (false).
    pub mandatory: bool,
    /// Implementing departments (实施部门).
    pub departments: Vec<String>,
    /// Categories it applies to.
    pub categories: Vec<CategoryId>,
    /// Restricts or grants.
    pub effect: Effect,
    /// The actions restricted or granted.
    pub actions: Vec<ActionId>,
    /// Person roles it extends to (落实到人).
    pub extends_to: RoleSet,
}

/// The plan's clean-record rule: a known subject without any black entry for
/// `years` earns the incentive `measures` (连续三年无不良信用记录 → 容缺受理).
#[derive(Clone, Debug)]
pub struct CleanRecordRule {
    /// Years without a black entry.
    pub years: u16,
    /// Incentive measures earned.
    pub measures: Vec<MeasureId>,
}

/// How long a penalty of one severity is published (公示期限), counted from
/// its decision, and when its credit can be repaired: after the shortest
/// window, publication may end early by repair; at the longest it ends by
/// itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The severity.
    pub severity: Severity,
    /// Whether penalties of this severity are published at all.
    pub published: bool,
    /// Months from the decision before a repair may be asked.
    pub min_months: u16,
    /// Months from the decision after which publication ends.
    pub max_months: u16,
    /// The rule it comes from.
    pub source: String,
    /// Whether the values were checked against the published text.
    pub verified: bool,
    /// What they were checked against.
    pub checked_against: Vec<String>,
}

/// A loaded, checked catalog.
#[derive(Clone, Debug)]
pub struct Catalog {
    actions: Vec<Action>,
    categories: Vec<Category>,
    measures: Vec<Measure>,
    clean_record: Option<CleanRecordRule>,
    windows: Vec<Window>,
    action_index: HashMap<String, ActionId>,
    category_index: HashMap<String, CategoryId>,
    /// `restrictions[category * actions.len() + action]`: the category's
    /// measures restricting the action, mandatory ones first.
    restrictions: Vec<Vec<MeasureId>>,
}

/// A catalog that cannot be used: the file, the item, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file cannot be read.
    #[error("{path}: cannot read the catalog: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or not of the catalog's shape (the message has the line).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An item is inconsistent.
    #[error("{path}: {item}: {problem}")]
    Item {
        /// The file.
        path: String,
        /// The item, e.g. `measure "debtor_flight"`.
        item: String,
        /// What is wrong with it.
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
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

impl Catalog {
    /// The catalog compiled into this build (`data/catalog.toml`).
    pub fn bundled() -> Catalog {
        Catalog::from_toml(BUNDLED_TOML, "data/catalog.toml")
            .expect("the bundled catalog is checked by the test suite")
    }

    /// Loads and checks a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: display.clone(),
            source,
        })?;
        Catalog::from_toml(&text, &display)
    }

    /// Parses and checks catalog text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| CatalogError::Syntax {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Builder { origin }.build(file)
    }

    /// Every action.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Every category.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Every measure.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// The clean-record rule, if the catalog has one.
    pub fn clean_record(&self) -> Option<&CleanRecordRule> {
        self.clean_record.as_ref()
    }

    /// The publication window of penalties of `severity`; `None` when the
    /// catalog has no windows (penalties cannot then be disclosed).
    pub fn window(&self, severity: Severity) -> Option<&Window> {
        self.windows.iter().find(|w| w.severity == severity)
    }

    /// Every publication window, least severe first.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The action with this code.
    pub fn action_by_code(&self, code: &str) -> Option<ActionId> {
        self.action_index.get(code).copied()
    }

    /// The category with this code.
    pub fn category_by_code(&self, code: &str) -> Option<CategoryId> {
        self.category_index.get(code).copied()
    }

    /// An action by id.
    pub fn action(&self, id: ActionId) -> &Action {
        &self.actions[id.0 as usize]
    }

    /// A category by id.
    pub fn category(&self, id: CategoryId) -> &Category {
        &self.categories[id.0 as usize]
    }

    /// A measure by id.
    pub fn measure(&self, id: MeasureId) -> &Measure {
        &self.measures[id.0 as usize]
    }

    /// The category's measures restricting `action`, mandatory ones first.
    /// Empty for red categories.
    pub fn restricting(&self, category: CategoryId, action: ActionId) -> &[MeasureId] {
        &self.restrictions[category.0 as usize * self.actions.len() + action.0 as usize]
    }

    /// The category's incentive measures (empty for black categories).
    pub fn granting(&self, category: CategoryId) -> impl Iterator<Item = MeasureId> + '_ {
        self.category(category)
            .measures
            .iter()
            .copied()
            .filter(|m| self.measure(*m).effect == Effect::Grants)
    }

    /// The catalog as JSON, as `creditgate catalog --json` prints it and
    /// `GET /v1/catalog` serves it: the actions, each category with its
    /// measures, and the publication windows.
    pub fn describe(&self) -> serde_json::Value {
        let actions: Vec<_> = self
            .actions
            .iter()
            .map(|a| match a.feedback_days {
                Some(days) => {
                    serde_json::json!({"code": a.code, "name": a.name, "feedback_days": days})
                }
                None => serde_json::json!({"code": a.code, "name": a.name}),
            })
            .collect();
        let categories: Vec<_> = self
            .categories
            .iter()
            .map(|c| {
                let measures: Vec<_> = c
                    .measures
                    .iter()
                    .map(|m| {
                        let m = self.measure(*m);
                        serde_json::json!({
                            "code": m.code, "name": m.name, "mandatory": m.mandatory,
                            "departments": m.departments,
                            (if m.effect == Effect::Restricts { "restricts" } else { "grants" }):
                                m.actions.iter().map(|a| &self.action(*a).code).collect::<Vec<_>>(),
                            "extends_to": m.extends_to.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "code": c.code, "name": c.name, "list": c.list.as_str(),
                    "subjects": c.subjects.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                    "measures": measures,
                })
            })
            .collect();
        let windows: Vec<_> = self
            .windows
            .iter()
            .map(|w| {
                serde_json::json!({
                    "severity": w.severity.as_str(), "published": w.published,
                    "min_months": w.min_months, "max_months": w.max_months,
                    "source": w.source, "verified": w.verified,
                    "checked_against": w.checked_against,
                })
            })
            .collect();
        serde_json::json!({"actions": actions, "categories": categories, "windows": windows})
    }

    /// Category codes, for error messages.
    pub fn category_codes(&self) -> Vec<&str> {
        self.categories.iter().map(|c| c.code.as_str()).collect()
    }

    /// Action codes, for error messages.
    pub fn action_codes(&self) -> Vec<&str> {
        self.actions.iter().map(|a| a.code.as_str()).collect()
    }
}

struct Builder<'a> {
    origin: &'a str,
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

    fn build(&self, file: CatalogFile) -> Result<Catalog, CatalogError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §4, row by row: category, list, restricted actions (all
    /// mandatory), and the roles the category extends to.
    const SPEC_BLACK: &[(&str, &[&str], &[Role])] = &[
        (
            "dishonest_debtor",
            &[
                "financial_institution",
                "bond_issue",
                "gov_funding",
                "soe_executive",
                "flight",
                "rail_premium",
                "star_hotel",
                "travel",
                "real_estate",
                "exit",
                "honors",
            ],
            &[Role::LegalRep, Role::Principal, Role::DirectResponsible],
        ),
        (
            "major_tax_violation",
            &[
                "exit",
                "gov_land",
                "gov_procurement",
                "gov_funding",
                "bond_issue",
                "import_quota",
            ],
            &[Role::LegalRep, Role::DirectResponsible],
        ),
        (
            "listed_company_violation",
            &[
                "bond_issue",
                "gov_procurement",
                "gov_funding",
                "customs_cert",
            ],
            &[Role::DirectResponsible],
        ),
        (
            "work_safety",
            &["major_project", "gov_funding", "bidding", "gov_procurement"],
            &[Role::LegalRep, Role::DirectResponsible],
        ),
        (
            "environmental",
            &[
                "market_access",
                "admin_license",
                "financing",
                "preferential_policy",
                "honors",
            ],
            &[Role::Principal],
        ),
        (
            "serious_illegal_enterprise",
            &["market_access", "officer"],
            &[Role::LegalRep],
        ),
    ];

    const SPEC_RED: &[&str] = &[
        "a_grade_taxpayer",
        "contract_honoring",
        "integrity_model",
        "moral_model",
    ];
    const SPEC_INCENTIVES: &[&str] = &[
        "green_channel",
        "tolerance_acceptance",
        "priority_service",
        "reduced_inspection",
        "credit_bonus",
        "financing_convenience",
    ];

    #[test]
    fn bundled_catalog_holds_every_row_of_spec_section_4() {
        let c = Catalog::bundled();
        for (code, actions, roles) in SPEC_BLACK {
            let cat = c
                .category_by_code(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(c.category(cat).list, ListKind::Black, "{code}");
            assert!(!c.category(cat).name.is_empty());
            let spec_roles: RoleSet = roles.iter().copied().collect();
            // Honours follow four roles whatever the category (the plan's
            // 文明单位/道德模范/身边好人 sentence, issue #22).
            let honor_roles: RoleSet = [
                Role::LegalRep,
                Role::Principal,
                Role::SeniorManager,
                Role::DirectResponsible,
            ]
            .into_iter()
            .collect();
            let expected_roles = |m: MeasureId| {
                if ["debtor_honors", "market_honors"].contains(&c.measure(m).code.as_str()) {
                    honor_roles
                } else {
                    spec_roles
                }
            };
            for action in *actions {
                let a = c
                    .action_by_code(action)
                    .unwrap_or_else(|| panic!("{action} missing"));
                let ms = c.restricting(cat, a);
                let mandatory: Vec<_> = ms.iter().filter(|m| c.measure(**m).mandatory).collect();
                assert!(
                    !mandatory.is_empty(),
                    "{code} must restrict {action} (mandatory)"
                );
                for m in mandatory {
                    assert_eq!(
                        c.measure(*m).extends_to,
                        expected_roles(*m),
                        "{code}/{action}: roles of {}",
                        c.measure(*m).code
                    );
                }
            }
            // Every black category carries the recommended market measures.
            for action in ["financing", "honors"] {
                let a = c.action_by_code(action).unwrap();
                assert!(
                    c.restricting(cat, a)
                        .iter()
                        .any(|m| !c.measure(*m).mandatory),
                    "{code} lacks recommended {action}"
                );
            }
            assert_eq!(
                c.category(cat).extends_to,
                spec_roles.union(honor_roles),
                "{code}"
            );
        }
        for code in SPEC_RED {
            let cat = c
                .category_by_code(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(c.category(cat).list, ListKind::Red);
            assert!(
                c.granting(cat).count() >= 3,
                "{code} has too few incentives"
            );
        }
        for incentive in SPEC_INCENTIVES {
            let a = c
                .action_by_code(incentive)
                .unwrap_or_else(|| panic!("{incentive} missing"));
            assert!(
                c.measures()
                    .iter()
                    .any(|m| m.effect == Effect::Grants && m.actions.contains(&a)),
                "no measure grants {incentive}"
            );
        }
        for m in c.measures() {
            assert!(!m.departments.is_empty(), "{} names no department", m.code);
        }
        let rule = c.clean_record().expect("the three-clean-years rule");
        assert_eq!(rule.years, 3);
        assert_eq!(c.measure(rule.measures[0]).code, "tolerance_acceptance");
    }

    #[test]
    fn mandatory_measures_come_first() {
        let c = Catalog::bundled();
        let env = c.category_by_code("environmental").unwrap();
        let financing = c.action_by_code("financing").unwrap();
        let ms = c.restricting(env, financing);
        assert_eq!(ms.len(), 2);
        assert!(c.measure(ms[0]).mandatory && !c.measure(ms[1]).mandatory);
    }

    fn broken(edit: impl Fn(&str) -> String) -> String {
        match Catalog::from_toml(&edit(BUNDLED_TOML), "test.toml") {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unknown_action_is_named() {
        let msg = broken(|t| t.replacen("restricts = [\"flight\"]", "restricts = [\"flying\"]", 1));
        assert_eq!(
            msg,
            "test.toml: measure \"debtor_flight\": unknown action \"flying\"; declare it as an [[action]] first"
        );
    }

    #[test]
    fn duplicate_code_is_named() {
        let msg = broken(|t| t.replacen("code = \"tax_exit\"", "code = \"debtor_exit\"", 1));
        assert_eq!(msg, "test.toml: measure \"debtor_exit\": duplicate code");
        let msg = broken(|t| t.replacen("code = \"travel\"", "code = \"flight\"", 1));
        assert_eq!(msg, "test.toml: action \"flight\": duplicate code");
    }

    #[test]
    fn category_without_measures_is_named() {
        let msg = broken(|t| {
            format!(
                "{t}\n[[category]]\ncode = \"empty_cat\"\nname = \"空\"\nlist = \"black\"\nsubjects = [\"org\"]\n"
            )
        });
        assert_eq!(msg, "test.toml: category \"empty_cat\": has no measures");
    }

    #[test]
    fn wrong_list_and_bad_role_and_syntax() {
        let msg = broken(|t| {
            t.replacen(
                "grants = [\"credit_bonus\"]",
                "restricts = [\"credit_bonus\"]",
                1,
            )
        });
        assert!(
            msg.contains(
                "measure \"credit_bonus\": category \"a_grade_taxpayer\" is a red list category"
            ),
            "{msg}"
        );
        let msg =
            broken(|t| t.replacen("extends_to = [\"principal\"]", "extends_to = [\"boss\"]", 1));
        assert!(
            msg.starts_with("test.toml: ") && msg.contains("unknown variant `boss`"),
            "{msg}"
        );
        assert!(msg.contains("line "), "TOML errors carry the line: {msg}");
        let msg = broken(|t| t.replacen("version = 1", "version = 7", 1));
        assert!(msg.contains("version 7 is not supported"), "{msg}");
        let msg = broken(|t| {
            t.replacen(
                "name = \"乘坐飞机\"",
                "name = \"乘坐飞机\"\ncolour = \"blue\"",
                1,
            )
        });
        assert!(msg.contains("unknown field `colour`"), "{msg}");
    }

    #[test]
    fn publication_windows_by_severity() {
        let c = Catalog::bundled();
        let months = |s| {
            let w = c.window(s).unwrap();
            (w.published, w.min_months, w.max_months)
        };
        assert_eq!(months(Severity::Minor), (false, 0, 0));
        assert_eq!(months(Severity::General), (true, 3, 12));
        assert_eq!(months(Severity::Serious), (true, 12, 36));
        assert!(
            c.windows()
                .iter()
                .all(|w| w.verified && !w.checked_against.is_empty())
        );
        let msg = broken(|t| t.replacen("min_months = 3", "min_months = 13", 1));
        assert_eq!(
            msg,
            "test.toml: window \"general\": min_months 13 is above max_months 12"
        );
        let msg = broken(|t| t.replacen("severity = \"serious\"", "severity = \"general\"", 1));
        assert_eq!(msg, "test.toml: window \"general\": given twice");
        let cut = BUNDLED_TOML
            .find("[[window]]\nseverity = \"serious\"")
            .unwrap();
        let msg = Catalog::from_toml(&BUNDLED_TOML[..cut], "test.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no window for severity \"serious\""), "{msg}");
        // A catalog without windows loads; it just cannot window penalties.
        let start = BUNDLED_TOML.find("\n[[window]]\n").unwrap();
        let none = Catalog::from_toml(&BUNDLED_TOML[..start], "test.toml").unwrap();
        assert!(none.window(Severity::General).is_none());
    }

    #[test]
    fn load_names_a_missing_file() {
        let err = Catalog::load(Path::new("/nonexistent/catalog.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/catalog.toml: cannot read"),
            "{err}"
        );
    }
}
