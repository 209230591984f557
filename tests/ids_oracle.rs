//! Agreement with an independent implementation of SPEC §2.
//!
//! The oracle below is written from the specification text alone, in a
//! different style from `src/id/` (strings and `char`s, the classic
//! `10X98765432` table, `to_digit(36)` for organization-code letters, powers
//! computed on the fly), so a shared misreading is unlikely. Random valid
//! codes and many kinds of corruption must get the same verdict from both.

use creditgate::date::Date;
use creditgate::id::{SubjectKey, SubjectKind};

use crate::util::Rand;

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const TODAY: (i32, u32, u32) = (2026, 11, 25);

fn oracle_org(input: &str) -> bool {
    let s = input.trim().to_uppercase();
    let c: Vec<char> = s.chars().collect();
    if c.len() != 18 || !c.iter().all(|ch| ALPHABET.contains(*ch)) {
        return false;
    }
    // Positions 3-8: a division code of digits whose province part is not 00.
    if !c[2..8].iter().all(|ch| ch.is_ascii_digit()) || (c[2] == '0' && c[3] == '0') {
        return false;
    }
    // GB 11714: weights 3,7,9,10,5,8,4,2; 11 - sum mod 11; 10 -> X, 11 -> 0.
    let weights = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = (0..8)
        .map(|i| c[8 + i].to_digit(36).unwrap() * weights[i])
        .sum();
    let expected = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap(),
    };
    if c[16] != expected {
        return false;
    }
    // GB 32100: weight of position i is 3^(i-1) mod 31.
    let sum: u64 = (0..17)
        .map(|i| ALPHABET.find(c[i]).unwrap() as u64 * (3u64.pow(i as u32) % 31))
        .sum();
    let check = ((31 - sum % 31) % 31) as usize;
    c[17] == ALPHABET.chars().nth(check).unwrap()
}

fn oracle_person(input: &str) -> bool {
    let s = input.trim().to_uppercase();
    let c: Vec<char> = s.chars().collect();
    let digits17: String = match c.len() {
        18 => c[..17].iter().collect(),
        15 => format!(
            "{}19{}",
            c[..6].iter().collect::<String>(),
            c[6..].iter().collect::<String>()
        ),
        _ => return false,
    };
    if !digits17.chars().all(|ch| ch.is_ascii_digit()) {
        return false;
    }
    if c.len() == 18 && !(c[17].is_ascii_digit() || c[17] == 'X') {
        return false;
    }
    if digits17.starts_with("00") {
        return false;
    }
    let year: i32 = digits17[6..10].parse().unwrap();
    let month: u32 = digits17[10..12].parse().unwrap();
    let day: u32 = digits17[12..14].parse().unwrap();
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day == 0 || day > month_days[month as usize - 1] {
        return false;
    }
    if (year, month, day) > TODAY || year < 1850 {
        return false;
    }
    if c.len() == 15 {
        return true;
    }
    let sum: u32 = digits17
        .chars()
        .enumerate()
        .map(|(i, ch)| ch.to_digit(10).unwrap() * (2u32.pow(17 - i as u32) % 11))
        .sum();
    c[17] == "10X98765432".chars().nth((sum % 11) as usize).unwrap()
}

/// A valid credit code made with the oracle's own arithmetic.
fn valid_org(r: &mut Rand) -> String {
    loop {
        let mut s = String::new();
        for i in 0..16 {
            s.push(if (2..8).contains(&i) {
                r.pick("0123456789")
            } else if r.below(3) == 0 {
                r.pick(ALPHABET)
            } else {
                r.pick("0123456789")
            });
        }
        for last in ALPHABET.chars() {
            for check in ALPHABET.chars() {
                let candidate = format!("{s}{last}{check}");
                if oracle_org(&candidate) {
                    return candidate;
                }
            }
        }
    }
}

fn valid_person(r: &mut Rand) -> String {
    loop {
        let s = format!(
            "{}{:04}{:02}{:02}{:03}",
            110000 + r.below(800_000),
            1900 + r.below(127),
            1 + r.below(12),
            1 + r.below(31),
            r.below(1000)
        );
        for check in "0123456789X".chars() {
            let candidate = format!("{s}{check}");
            if oracle_person(&candidate) {
                return candidate;
            }
        }
    }
}

fn corrupt(r: &mut Rand, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    match r.below(8) {
        0 => {
            let i = r.below(c.len());
            c[i] = r.pick("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*-");
        }
        1 => {
            let i = r.below(c.len() - 1);
            c.swap(i, i + 1);
        }
        2 => {
            c.remove(r.below(c.len()));
        }
        3 => c.insert(r.below(c.len()), r.pick("0123456789")),
        4 => return format!("  {}  ", s.to_lowercase()),
        5 => {
            let (i, j) = (r.below(c.len()), r.below(c.len()));
            c[i] = r.pick("0123456789");
            c[j] = r.pick(ALPHABET);
        }
        6 => return (0..18).map(|_| r.pick("0123456789")).collect(),
        _ => return c[..15.min(c.len())].iter().collect(),
    }
    c.into_iter().collect()
}

#[test]
fn identifier_validation_agrees_with_an_independent_implementation() {
    let today = Date::from_ymd(TODAY.0, TODAY.1, TODAY.2).unwrap();
    let mut r = Rand(0x2545_F491_4F6C_DD1D);
    let (mut valid, mut invalid) = (0, 0);
    for n in 0..60_000 {
        let base = if n % 2 == 0 {
            valid_org(&mut r)
        } else {
            valid_person(&mut r)
        };
        let input = if n % 3 == 0 {
            base
        } else {
            corrupt(&mut r, &base)
        };
        let org = SubjectKey::parse_as_at(&input, SubjectKind::Org, today).is_ok();
        let person = SubjectKey::parse_as_at(&input, SubjectKind::Person, today).is_ok();
        assert_eq!(
            org,
            oracle_org(&input),
            "credit code verdict differs for {input:?}"
        );
        assert_eq!(
            person,
            oracle_person(&input),
            "identity number verdict differs for {input:?}"
        );
        let any = SubjectKey::parse_readings_at(&input, today);
        assert_eq!(any.is_ok(), org || person, "{input:?}");
        if let Ok(readings) = any {
            // The canonical form is the upper-cased input (15-digit numbers
            // become 18 digits).
            let text = readings.first.to_string();
            if input.trim().chars().count() == 18 {
                assert_eq!(text, input.trim().to_uppercase());
            }
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid > 20_000 && invalid > 20_000,
        "{valid} valid, {invalid} invalid"
    );
}
