//! Making one subject (and its entries) from its ordinal.
//!
//! Everything about subject `i` comes from a SplitMix64 stream seeded by
//! `(seed, i)`, so any subject can be made alone, in any order, on any thread,
//! and the output is the same. Identifiers are unique by construction: the
//! ordinal goes through an affine bijection (`i × A + B mod M`, `A` coprime
//! to `M`) into the space of organization-code bodies or of
//! (division, birth date, sequence) triples.

use creditgate::date::Date;
use creditgate::id::{SubjectKind, build};
use creditgate::model::{
    EntryRecord, EntryStatus, ListKind, PersonLinkRecord, Role, SubjectRecord,
};

use crate::vocab::{self, Region};

/// A counter-based random stream (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, ordinal: u64, stream: u64) -> Rng {
        let mut r = Rng(seed
            ^ ordinal.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Cumulative weights for drawing by weight.
pub struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    pub fn new(weights: impl IntoIterator<Item = u64>) -> Weighted {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { cumulative }
    }

    /// Zipf-like weights for a list ordered by popularity: weight 1/(rank+k).
    pub fn zipf(n: usize, k: f64) -> Weighted {
        Weighted::new((0..n).map(|r| (1_000_000.0 / (r as f64 + k)) as u64))
    }

    pub fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().expect("non-empty");
        let x = rng.below(total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}

/// Shares of each category, by subject kind.
const ORG_CATEGORIES: &[(&str, u64)] = &[
    ("dishonest_debtor", 35),
    ("major_tax_violation", 6),
    ("listed_company_violation", 1),
    ("work_safety", 6),
    ("environmental", 8),
    ("serious_illegal_enterprise", 14),
    ("a_grade_taxpayer", 20),
    ("contract_honoring", 6),
    ("integrity_model", 4),
];
const PERSON_CATEGORIES: &[(&str, u64)] = &[
    ("dishonest_debtor", 80),
    ("major_tax_violation", 4),
    ("listed_company_violation", 2),
    ("moral_model", 14),
];
/// Every category code the generator writes.
pub fn category_codes() -> impl Iterator<Item = &'static str> {
    ORG_CATEGORIES
        .iter()
        .chain(PERSON_CATEGORIES)
        .map(|(c, _)| *c)
}

/// Everything shared by all subjects: tables and bijection constants.
pub struct Plan {
    pub seed: u64,
    pub subjects: u64,
    pub today: Date,
    first_day: Date,
    regions: Weighted,
    trade_chars: Weighted,
    industries: Weighted,
    surnames: Weighted,
    male: Weighted,
    female: Weighted,
    org_categories: Weighted,
    person_categories: Weighted,
    birth_first: Date,
    birth_days: u64,
    person_space: u64,
    person_mult: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A multiplier coprime to `m`, near `m × 0.618` so neighbours scatter.
fn coprime_multiplier(m: u64) -> u64 {
    let mut a = (m as f64 * 0.618_033_988_7) as u64 | 1;
    while gcd(a, m) != 1 {
        a += 2;
    }
    a
}

const DIGIT_BODIES: u64 = 100_000_000;
const DIGIT_MULT: u64 = 61_803_399; // coprime to 10^8
const MA_BODIES: u64 = 887_503_681; // 31^6
const MA_MULT: u64 = 548_512_817; // coprime to 31^6

impl Plan {
    pub fn new(seed: u64, subjects: u64, today: Date) -> Plan {
        let birth_first = Date::from_ymd(1940, 1, 1).expect("valid");
        let birth_last = today.add_years(-18);
        let birth_days = (birth_last.days() - birth_first.days()).max(1) as u64;
        let person_space = vocab::PERSON_DIVISIONS.len() as u64 * birth_days * 1000;
        Plan {
            seed,
            subjects,
            today,
            first_day: Date::from_ymd(2015, 1, 1).expect("valid"),
            regions: Weighted::new(vocab::REGIONS.iter().map(|r| u64::from(r.weight))),
            trade_chars: Weighted::zipf(vocab::TRADE_CHARS.len(), 8.0),
            industries: Weighted::new(vocab::INDUSTRIES.iter().map(|i| u64::from(i.2))),
            surnames: Weighted::new(vocab::SURNAMES.iter().map(|s| u64::from(s.1))),
            male: Weighted::zipf(vocab::MALE_GIVEN.len(), 1.5),
            female: Weighted::zipf(vocab::FEMALE_GIVEN.len(), 1.5),
            org_categories: Weighted::new(ORG_CATEGORIES.iter().map(|c| c.1)),
            person_categories: Weighted::new(PERSON_CATEGORIES.iter().map(|c| c.1)),
            birth_first,
            birth_days,
            person_space,
            person_mult: coprime_multiplier(person_space),
        }
    }

    /// Largest subject count whose identifiers stay unique.
    pub fn max_subjects(&self) -> u64 {
        (DIGIT_BODIES + MA_BODIES).min(self.person_space / 2)
    }

    /// Whether subject ordinal `i` is a person (a quarter of subjects).
    pub fn is_person(&self, i: u64) -> bool {
        Rng::new(self.seed, i, 1).percent(25)
    }

    /// The identity number of person ordinal `p` (`p < 2 × subjects`: persons
    /// with a subject line use their subject ordinal, the others `subjects + k`).
    pub fn person_id(&self, p: u64) -> String {
        let mut s = (p.wrapping_mul(self.person_mult) % self.person_space
            + self.seed % self.person_space)
            % self.person_space;
        let seq = s % 1000;
        s /= 1000;
        let day = s % self.birth_days;
        let division = vocab::PERSON_DIVISIONS[(s / self.birth_days) as usize];
        let (y, m, d) = self.birth_first.add_days(day as i32).ymd();
        let text = format!("{division}{y:04}{m:02}{d:02}{seq:03}");
        let mut first17 = [0u8; 17];
        first17.copy_from_slice(text.as_bytes());
        let id = build::identity_number(&first17).expect("digits");
        String::from_utf8(id.to_vec()).expect("ASCII")
    }

    /// Whether person ordinal `p`'s sequence number is odd (male).
    fn person_is_male(&self, p: u64) -> bool {
        let s = (p.wrapping_mul(self.person_mult) % self.person_space
            + self.seed % self.person_space)
            % self.person_space;
        s % 1000 % 2 == 1
    }

    pub fn person_name(&self, rng: &mut Rng, male: bool) -> String {
        let surname = vocab::SURNAMES[self.surnames.draw(rng)].0;
        let given = if male {
            vocab::MALE_GIVEN[self.male.draw(rng)]
        } else {
            vocab::FEMALE_GIVEN[self.female.draw(rng)]
        };
        format!("{surname}{given}")
    }

    fn org_body(&self, i: u64, rng: &mut Rng) -> [u8; 8] {
        let mut body = [0u8; 8];
        if i < DIGIT_BODIES && rng.percent(65) {
            let s = (i.wrapping_mul(DIGIT_MULT) + self.seed) % DIGIT_BODIES;
            body.copy_from_slice(format!("{s:08}").as_bytes());
        } else {
            let mut s = (i.wrapping_mul(MA_MULT) + self.seed) % MA_BODIES;
            body[0] = b'M';
            body[1] = b'A';
            for slot in body[2..].iter_mut().rev() {
                *slot = creditgate::id::USCC_ALPHABET[(s % 31) as usize];
                s /= 31;
            }
        }
        body
    }

    fn trade_name(&self, rng: &mut Rng) -> (String, String) {
        let len = match rng.below(10) {
            0..=6 => 2,
            7..=8 => 3,
            _ => 4,
        };
        let mut name = String::new();
        let mut english = String::new();
        let mut last = "";
        for k in 0..len {
            let (mut c, mut py) = vocab::TRADE_CHARS[self.trade_chars.draw(rng)];
            while c == last {
                (c, py) = vocab::TRADE_CHARS[self.trade_chars.draw(rng)];
            }
            last = c;
            name.push_str(c);
            if k == 0 {
                let mut chars = py.chars();
                if let Some(f) = chars.next() {
                    english.extend(f.to_uppercase());
                    english.push_str(chars.as_str());
                }
            } else {
                english.push_str(py);
            }
        }
        (name, english)
    }

    /// Subject `i` and its entries.
    pub fn subject(
        &self,
        i: u64,
        subjects: &mut Vec<SubjectRecord>,
        entries: &mut Vec<EntryRecord>,
    ) {
        let mut rng = Rng::new(self.seed, i, 2);
        let record = if self.is_person(i) {
            SubjectRecord {
                id: self.person_id(i),
                kind: SubjectKind::Person,
                name: self.person_name(&mut rng, self.person_is_male(i)),
                aliases: Vec::new(),
                persons: Vec::new(),
            }
        } else {
            self.org(i, &mut rng)
        };
        let kind = record.kind;
        let id = record.id.clone();
        subjects.push(record);
        let share = if kind == SubjectKind::Org { 6 } else { 10 };
        if rng.percent(share) {
            let n = match rng.below(20) {
                0..=15 => 1,
                16..=18 => 2,
                _ => 3,
            };
            for k in 0..n {
                entries.push(self.entry(i, k, &id, kind, &mut rng));
            }
        }
    }

    fn org(&self, i: u64, rng: &mut Rng) -> SubjectRecord {
        let region: &Region = &vocab::REGIONS[self.regions.draw(rng)];
        let (trade, trade_en) = self.trade_name(rng);
        let (industry, industry_en, _) = vocab::INDUSTRIES[self.industries.draw(rng)];
        let form = rng.below(100);
        let (prefix, name, english) = match form {
            // 个体工商户: region + operator's name + shop.
            0..=7 => {
                let shop = rng.pick(vocab::SHOPS);
                let male = rng.percent(60);
                let owner = self.person_name(rng, male);
                (*b"92", format!("{}{owner}{shop}", region.name), None)
            }
            // 农民专业合作社.
            8..=9 => {
                let coop = rng.pick(vocab::COOPS);
                (
                    *b"93",
                    format!("{}{trade}{coop}专业合作社", region.name),
                    None,
                )
            }
            // 社会团体 (民政).
            10 => (*b"51", format!("{}{industry}行业协会", region.name), None),
            // Region in brackets after the trade name: 华远科技（江西）有限公司.
            11..=15 => (
                *b"91",
                format!("{trade}{industry}（{}）有限公司", region.short),
                Some(format!(
                    "{trade_en} {industry_en} ({}) Co., Ltd.",
                    region.english
                )),
            ),
            16..=18 => (
                *b"91",
                format!(
                    "{}{trade}{industry}有限公司{}分公司",
                    region.name,
                    rng.pick(&["南昌", "九江", "赣州", "上饶"])
                ),
                None,
            ),
            19..=20 => (
                *b"91",
                format!("{}{trade}投资合伙企业（有限合伙）", region.name),
                None,
            ),
            _ => {
                let (form, form_en) = match rng.below(100) {
                    0..=62 => ("有限公司", "Co., Ltd."),
                    63..=87 => ("有限责任公司", "Co., Ltd."),
                    88..=95 => ("股份有限公司", "Co., Ltd."),
                    _ => ("集团有限公司", "Group Co., Ltd."),
                };
                (
                    *b"91",
                    format!("{}{trade}{industry}{form}", region.name),
                    Some(format!(
                        "{} {trade_en} {industry_en} {form_en}",
                        region.english
                    )),
                )
            }
        };
        let mut first16 = [0u8; 16];
        first16[..2].copy_from_slice(&prefix);
        first16[2..8].copy_from_slice(region.division.as_bytes());
        first16[8..].copy_from_slice(&self.org_body(i, rng));
        let id = build::uscc(&first16).expect("generated codes use the alphabet");
        let mut aliases = Vec::new();
        if rng.percent(8) {
            // 曾用名: an earlier trade name or region.
            let (old_trade, _) = self.trade_name(rng);
            let old_region = &vocab::REGIONS[self.regions.draw(rng)];
            aliases.push(format!("{}{old_trade}{industry}有限公司", old_region.name));
        }
        if let Some(en) = english.filter(|_| rng.percent(3)) {
            aliases.push(en);
        }
        let mut persons = Vec::new();
        let lead_role = if prefix == *b"92" {
            Role::Principal
        } else {
            Role::LegalRep
        };
        persons.push(PersonLinkRecord {
            id: self.person_id(self.linked_person(rng)),
            role: lead_role,
        });
        let extra = match rng.below(10) {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        for _ in 0..extra {
            let role = *rng.pick(&[
                Role::Director,
                Role::Supervisor,
                Role::SeniorManager,
                Role::Shareholder,
                Role::DirectResponsible,
                Role::Principal,
            ]);
            persons.push(PersonLinkRecord {
                id: self.person_id(self.linked_person(rng)),
                role,
            });
        }
        SubjectRecord {
            id: String::from_utf8(id.to_vec()).expect("ASCII"),
            kind: SubjectKind::Org,
            name,
            aliases,
            persons,
        }
    }

    /// A person ordinal for a role: half the time a person with a subject line
    /// (so `via` decisions are exercised), else one without.
    fn linked_person(&self, rng: &mut Rng) -> u64 {
        if rng.percent(50) {
            for _ in 0..8 {
                let j = rng.below(self.subjects);
                if self.is_person(j) {
                    return j;
                }
            }
        }
        self.subjects + rng.below(self.subjects)
    }

    fn entry(&self, i: u64, k: u32, id: &str, kind: SubjectKind, rng: &mut Rng) -> EntryRecord {
        let category = match kind {
            SubjectKind::Org => ORG_CATEGORIES[self.org_categories.draw(rng)].0,
            SubjectKind::Person => PERSON_CATEGORIES[self.person_categories.draw(rng)].0,
        };
        let span = (self.today.days() - self.first_day.days()).max(1) as u64;
        let decided_at = self.first_day.add_days(rng.below(span) as i32);
        let effective_from = rng
            .percent(15)
            .then(|| decided_at.add_days(1 + rng.below(30) as i32));
        let start = effective_from.unwrap_or(decided_at);
        let years = |rng: &mut Rng, lo: u64, hi: u64| {
            Some(start.add_years((lo + rng.below(hi - lo + 1)) as i32))
        };
        let (list, prefix, authority, basis, expires_at) = match category {
            "dishonest_debtor" => {
                let court = rng.below(vocab::COURTS.len() as u64);
                (
                    ListKind::Black,
                    "JXFY",
                    vocab::COURTS[court as usize].to_string(),
                    format!(
                        "({})赣{:02}执{}号",
                        decided_at.ymd().0,
                        court + 1,
                        1 + rng.below(9000)
                    ),
                    if rng.percent(40) {
                        None
                    } else {
                        years(rng, 2, 5)
                    },
                )
            }
            "major_tax_violation" => (
                ListKind::Black,
                "JXSW",
                "国家税务总局江西省税务局".to_string(),
                format!("赣税稽罚〔{}〕{}号", decided_at.ymd().0, 1 + rng.below(900)),
                years(rng, 3, 3),
            ),
            "listed_company_violation" => (
                ListKind::Black,
                "JXZJ",
                "中国证券监督管理委员会江西监管局".to_string(),
                format!(
                    "〔{}〕{}号行政处罚决定书",
                    decided_at.ymd().0,
                    1 + rng.below(90)
                ),
                years(rng, 3, 3),
            ),
            "work_safety" => (
                ListKind::Black,
                "JXAJ",
                "江西省应急管理厅".to_string(),
                format!("赣应急罚〔{}〕{}号", decided_at.ymd().0, 1 + rng.below(500)),
                years(rng, 1, 3),
            ),
            "environmental" => (
                ListKind::Black,
                "JXHB",
                "江西省生态环境厅".to_string(),
                format!("赣环罚〔{}〕{}号", decided_at.ymd().0, 1 + rng.below(800)),
                years(rng, 1, 3),
            ),
            "serious_illegal_enterprise" => (
                ListKind::Black,
                "JXSJ",
                "江西省市场监督管理局".to_string(),
                format!(
                    "赣市监严违〔{}〕{}号",
                    decided_at.ymd().0,
                    1 + rng.below(3000)
                ),
                if rng.percent(30) {
                    None
                } else {
                    years(rng, 3, 5)
                },
            ),
            "a_grade_taxpayer" => (
                ListKind::Red,
                "JXNS",
                "国家税务总局江西省税务局".to_string(),
                format!("{}年度纳税信用A级纳税人名单", decided_at.ymd().0 - 1),
                years(rng, 1, 1),
            ),
            "contract_honoring" => (
                ListKind::Red,
                "JXHT",
                "江西省市场监督管理局".to_string(),
                format!("{}年度江西省守合同重信用企业公示", decided_at.ymd().0),
                years(rng, 2, 2),
            ),
            "integrity_model" => (
                ListKind::Red,
                "JXCX",
                "江西省发展和改革委员会".to_string(),
                format!(
                    "赣发改财金〔{}〕{}号",
                    decided_at.ymd().0,
                    1 + rng.below(300)
                ),
                years(rng, 1, 3),
            ),
            _ => (
                ListKind::Red,
                "JXDM",
                "江西省精神文明建设委员会".to_string(),
                format!("赣文明委〔{}〕{}号", decided_at.ymd().0, 1 + rng.below(50)),
                years(rng, 3, 5),
            ),
        };
        let status = match rng.below(100) {
            0..=81 => EntryStatus::Active,
            82..=85 => EntryStatus::Disputed,
            86..=94 => EntryStatus::Repaired,
            _ => EntryStatus::Revoked,
        };
        EntryRecord {
            entry_id: format!("{prefix}-{}-{i:010}-{k}", decided_at.ymd().0),
            subject_id: id.to_string(),
            list,
            category: category.to_string(),
            authority,
            basis,
            decided_at,
            effective_from,
            expires_at,
            status,
        }
    }
}
