//! The plan's vocabulary that both the catalog and the records speak: which
//! list an entry is on (red or black), the roles a person holds in an
//! organization, sets of those roles (the persons a measure extends to),
//! and how serious a penalty is (its publication window).
//!
//! It sits below [`crate::catalog`] and [`crate::model`] so that neither has
//! to import the other for it; [`crate::model`] re-exports it.

use serde::{Deserialize, Serialize};

/// A person's role in an organization (SPEC §3 `persons[].role`).
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 法定代表人.
    LegalRep,
    /// 主要负责人.
    Principal,
    /// 董事.
    Director,
    /// 监事.
    Supervisor,
    /// 高级管理人员.
    SeniorManager,
    /// 股东.
    Shareholder,
    /// 直接责任人员.
    DirectResponsible,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 7] = [
        Role::LegalRep,
        Role::Principal,
        Role::Director,
        Role::Supervisor,
        Role::SeniorManager,
        Role::Shareholder,
        Role::DirectResponsible,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::LegalRep => "legal_rep",
            Role::Principal => "principal",
            Role::Director => "director",
            Role::Supervisor => "supervisor",
            Role::SeniorManager => "senior_manager",
            Role::Shareholder => "shareholder",
            Role::DirectResponsible => "direct_responsible",
        }
    }

    /// This role's bit in a [`RoleSet`].
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of roles in one byte.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(pub u8);

impl RoleSet {
    /// No role.
    pub const EMPTY: RoleSet = RoleSet(0);

    /// Whether `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The set with `role` added.
    pub const fn with(self, role: Role) -> RoleSet {
        RoleSet(self.0 | role.bit())
    }

    /// The union of two sets.
    pub const fn union(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }

    /// Whether no role is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> RoleSet {
        iter.into_iter().fold(RoleSet::EMPTY, RoleSet::with)
    }
}

/// Which list an entry is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    /// 失信"黑名单": joint punishment.
    Black,
    /// 诚信"红名单": joint incentives.
    Red,
}

impl ListKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Black => "black",
            ListKind::Red => "red",
        }
    }
}

/// How serious a penalty is (失信严重程度): what decides whether and how long
/// it is published, and when its credit can be repaired.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 轻微: not published.
    Minor,
    /// 一般.
    General,
    /// 严重.
    Serious,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::General, Severity::Serious];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::General => "general",
            Severity::Serious => "serious",
        }
    }
}
