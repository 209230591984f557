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

use crate::id::SubjectKind;
use crate::vocab::{ListKind, Role, RoleSet, Severity};

mod file;

/// The catalog shipped with creditgate.
pub const BUNDLED_TOML: &str = include_str!("../../data/catalog.toml");
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
        let file: file::CatalogFile = toml::from_str(text).map_err(|e| CatalogError::Syntax {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        file::Builder { origin }.build(file)
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
