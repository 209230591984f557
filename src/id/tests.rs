//! The identifiers' tests: known codes, every kind of refusal, and
//! generated codes against substitutions and transpositions.

use super::check::PERSON_CHECK;
use super::*;
use proptest::prelude::*;

fn today() -> Date {
    "2026-11-25".parse().unwrap()
}

fn problem(input: &str) -> IdProblem {
    SubjectKey::parse_readings_at(input, today())
        .unwrap_err()
        .problem
}

#[test]
fn known_valid_codes() {
    // Published codes (stdnum's doc example; a real enterprise code).
    for code in ["91110000600037341L", "91360100705500005G"] {
        let key = SubjectKey::parse(code).unwrap();
        assert_eq!(key.kind(), SubjectKind::Org);
        assert_eq!(key.to_string(), code);
    }
    // GB 11643's own example number.
    let key = SubjectKey::parse("11010519491231002X").unwrap();
    assert_eq!(key.kind(), SubjectKind::Person);
    assert_eq!(key.birth_date().unwrap().to_string(), "1949-12-31");
}

#[test]
fn accepts_lower_case_and_spaces() {
    let key = SubjectKey::parse("  11010519491231002x\t").unwrap();
    assert_eq!(key.to_string(), "11010519491231002X");
    assert_eq!(
        SubjectKey::parse("\u{3000}91110000600037341l ")
            .unwrap()
            .to_string(),
        "91110000600037341L"
    );
}

#[test]
fn letters_in_first_positions_are_valid() {
    let code = build::uscc(b"N2360100MA35ABCD").unwrap();
    let text = std::str::from_utf8(&code).unwrap();
    let key = SubjectKey::parse(text).unwrap();
    assert_eq!(key.kind(), SubjectKind::Org);
    assert_eq!(key.to_string(), text);
}

#[test]
fn wrong_length_names_both_lengths() {
    let err = SubjectKey::parse("9111000060003734").unwrap_err();
    assert_eq!(
        err.problem,
        IdProblem::Length {
            expected: "18 (or 15 for a legacy identity number)",
            found: 16
        }
    );
    assert!(err.to_string().contains("found 16 characters"), "{err}");
    assert_eq!(problem("   "), IdProblem::Empty);
}

#[test]
fn errors_carry_the_trimmed_input() {
    let err = SubjectKey::parse(" 9111000060003I341L ").unwrap_err();
    assert_eq!(err.input, "9111000060003I341L");
    assert!(err.to_string().contains("\"9111000060003I341L\""), "{err}");
    let err = SubjectKey::parse_as("91110000600037341L", SubjectKind::Person).unwrap_err();
    assert_eq!(err.input, "91110000600037341L");
    let err = SubjectKey::parse("12").unwrap_err();
    assert_eq!(err.input, "12");
}

#[test]
fn bad_character_is_named_with_position() {
    // `I` is never used in a credit code.
    let err = SubjectKey::parse("9111000060003I341L").unwrap_err();
    assert_eq!(err.kind, Some(SubjectKind::Org));
    assert!(matches!(
        err.problem,
        IdProblem::BadChar {
            position: 14,
            found: 'I',
            ..
        }
    ));
    // A Chinese character in an identity number.
    let err = SubjectKey::parse("11010519491231002号").unwrap_err();
    assert!(
        matches!(
            err.problem,
            IdProblem::BadChar {
                position: 18,
                found: '号',
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn check_character_expected_versus_found() {
    let err = SubjectKey::parse("91110000600037341M").unwrap_err();
    assert_eq!(err.kind, Some(SubjectKind::Org));
    assert_eq!(
        err.problem,
        IdProblem::CheckChar {
            what: "check character",
            position: 18,
            expected: 'L',
            found: 'M'
        }
    );
    let err = SubjectKey::parse("110105194912310021").unwrap_err();
    assert_eq!(err.kind, Some(SubjectKind::Person));
    assert_eq!(
        err.problem,
        IdProblem::CheckChar {
            what: "check character",
            position: 18,
            expected: 'X',
            found: '1'
        }
    );
    assert!(err.to_string().contains("expected 'X'"));
}

#[test]
fn organization_code_check_is_verified() {
    // Change the organization code check (position 17) and re-close the
    // credit code check so only the inner check is wrong.
    let mut code = *b"91110000600037341L";
    code[16] = b'2';
    code[17] = uscc_check(&code[..17]);
    let err = SubjectKey::parse(std::str::from_utf8(&code).unwrap()).unwrap_err();
    assert_eq!(
        err.problem,
        IdProblem::CheckChar {
            what: "organization code check character",
            position: 17,
            expected: '1',
            found: '2'
        }
    );
}

#[test]
fn impossible_birth_dates() {
    let make = |first17: &[u8; 17]| {
        String::from_utf8(build::identity_number(first17).unwrap().to_vec()).unwrap()
    };
    for (digits, reason) in [
        (b"36010219880230123", "is not a calendar date"),
        (b"36010220990101123", "is in the future"),
        (b"36010218000101123", "is before 1850"),
    ] {
        let text = make(digits);
        match SubjectKey::parse_as_at(&text, SubjectKind::Person, today()) {
            Err(IdError {
                problem:
                    IdProblem::BirthDate {
                        reason: r,
                        start: 7,
                        end: 14,
                        ..
                    },
                ..
            }) => assert_eq!(r, reason),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn division_code_shape() {
    let text = String::from_utf8(
        build::identity_number(b"00010219880101123")
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(matches!(problem(&text), IdProblem::DivisionCode { .. }));
    // Codes no longer current are fine: 360121 (南昌县's old code).
    let text = String::from_utf8(
        build::identity_number(b"36012119880101123")
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(SubjectKey::parse(&text).is_ok());
}

#[test]
fn legacy_fifteen_digit_numbers_convert() {
    // 15-digit 110105491231002 is 11010519491231002X.
    let key = SubjectKey::parse("110105491231002").unwrap();
    assert_eq!(key.to_string(), "11010519491231002X");
    assert!(matches!(
        problem("110105491331002"),
        IdProblem::BirthDate {
            start: 7,
            end: 12,
            ..
        }
    ));
}

#[test]
fn wrong_kind_is_reported() {
    let err = SubjectKey::parse_as("11010519491231002X", SubjectKind::Org).unwrap_err();
    assert_eq!(
        err.problem,
        IdProblem::WrongKind {
            expected: SubjectKind::Org,
            found: SubjectKind::Person
        }
    );
    assert!(
        err.to_string()
            .contains("but a unified social credit code is required")
    );
}

#[test]
fn a_string_valid_as_both_kinds_has_two_readings() {
    // A credit code whose positions 7-14 hold a date, all digits, and whose
    // two check schemes happen to agree: search a small space for one.
    let found = (0..10_000u32).find_map(|n| {
        let mut first16 = *b"9136001988010100";
        first16[4..6].copy_from_slice(format!("{:02}", n / 100).as_bytes());
        first16[14..16].copy_from_slice(format!("{:02}", n % 100).as_bytes());
        let code = build::uscc(&first16)?;
        let mut first17 = [0u8; 17];
        first17.copy_from_slice(&code[..17]);
        (first17.iter().all(u8::is_ascii_digit)
            && build::identity_number(&first17)?[17] == code[17])
            .then_some(code)
    });
    let code = found.expect("such strings exist");
    let text = std::str::from_utf8(&code).unwrap();
    let readings = SubjectKey::parse_readings_at(text, today()).unwrap();
    assert_eq!(readings.first.kind(), SubjectKind::Person);
    assert_eq!(readings.second.map(|k| k.kind()), Some(SubjectKind::Org));
    assert_eq!(readings.second.unwrap().to_string(), text);
    assert_eq!(readings.first.to_string(), text);
}

#[test]
fn bytes_round_trip_and_garbage_is_refused() {
    let key = SubjectKey::parse("91360100705500005G").unwrap();
    assert_eq!(SubjectKey::from_bytes(&key.to_bytes()), Some(key));
    assert_eq!(SubjectKey::from_bytes(&[0xff; 12]), None);
    assert_eq!(SubjectKey::from_bytes(&[1; 11]), None);
}

#[test]
fn masked_ids_match_visible_characters() {
    let m = MaskedId::parse("360102********1234").unwrap();
    assert_eq!(m.kind(), None);
    assert_eq!(m.visible_prefix(), b"360102");
    let m = MaskedId::parse("91360100MA3５****0G").unwrap_err();
    assert!(matches!(m, MaskError::BadChar { position: 12, .. }));
    let m = MaskedId::parse("9136010070550000**").unwrap();
    assert_eq!(m.kind(), None);
    assert!(m.matches(SubjectKey::parse("91360100705500005G").unwrap()));
    assert!(matches!(
        MaskedId::parse("91360100705500005G"),
        Err(MaskError::NotMasked { .. })
    ));
    assert!(matches!(
        MaskedId::parse("***************12"),
        Err(MaskError::Length { found: 17, .. })
    ));
    assert!(MaskedId::looks_masked(" 360102********1234 "));
    assert!(!MaskedId::looks_masked("360102198801011234"));
}

#[test]
fn a_mask_that_shows_a_birth_date_character_tests_what_masking_hides() {
    let shows = |m: &str| MaskedId::parse(m).unwrap().shows_masked_chars();
    assert!(!shows("360102********1234"));
    assert!(!shows("3601************34"));
    assert!(shows("3601022*********34"), "character 7 is the birth year");
    assert!(shows("360102*******11234"), "character 14 is the birth day");
    // A letter before the check character rules out a person: an
    // organization's code is public.
    assert!(!shows("91360100MA3****X0G"));
    // Digits only might be either: treated as a person's.
    assert!(shows("9136010070550000**"));
}

/// Strategy: a random valid credit code (letters allowed where real ones
/// have them: positions 1, 2 and 9–16).
fn uscc_strategy() -> impl Strategy<Value = [u8; 18]> {
    let any = || proptest::sample::select(USCC_ALPHABET.to_vec());
    let digit = || proptest::sample::select(b"0123456789".to_vec());
    (
        proptest::collection::vec(any(), 2),
        proptest::collection::vec(digit(), 6),
        proptest::collection::vec(any(), 8),
    )
        .prop_filter_map("division code 00", |(head, div, body)| {
            if div[0] == b'0' && div[1] == b'0' {
                return None;
            }
            let mut first16 = [0u8; 16];
            first16[..2].copy_from_slice(&head);
            first16[2..8].copy_from_slice(&div);
            first16[8..].copy_from_slice(&body);
            build::uscc(&first16)
        })
}

fn person_strategy() -> impl Strategy<Value = [u8; 18]> {
    (
        110000u32..=829999,
        0i32..=(today().days() - Date::from_ymd(1900, 1, 1).unwrap().days()),
        0u32..1000,
    )
        .prop_map(|(div, day, seq)| {
            let birth = Date::from_ymd(1900, 1, 1).unwrap().add_days(day);
            let (y, m, d) = birth.ymd();
            let text = format!("{div:06}{y:04}{m:02}{d:02}{seq:03}");
            let mut first17 = [0u8; 17];
            first17.copy_from_slice(text.as_bytes());
            build::identity_number(&first17).unwrap()
        })
}

fn parse_bytes(code: &[u8]) -> Result<IdReadings, IdError> {
    SubjectKey::parse_readings_at(std::str::from_utf8(code).unwrap(), today())
}

/// Whether `key` is the reading of `code` (any of its readings).
fn reads_as(code: &[u8], readings: &IdReadings) -> bool {
    let text = std::str::from_utf8(code).unwrap();
    readings.first.to_string() == text || readings.second.is_some_and(|k| k.to_string() == text)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_credit_codes_pass_and_round_trip(code in uscc_strategy()) {
        let text = std::str::from_utf8(&code).unwrap();
        let key = SubjectKey::parse_as_at(text, SubjectKind::Org, today()).unwrap();
        prop_assert_eq!(key.to_string(), text);
        prop_assert_eq!(SubjectKey::from_bytes(&key.to_bytes()), Some(key));
        prop_assert!(reads_as(&code, &parse_bytes(&code).unwrap()));
        prop_assert_eq!(
            SubjectKey::parse_as_at(&text.to_lowercase(), SubjectKind::Org, today()).unwrap(),
            key
        );
    }

    #[test]
    fn generated_identity_numbers_pass_and_round_trip(code in person_strategy()) {
        let text = std::str::from_utf8(&code).unwrap();
        let key = SubjectKey::parse_readings_at(text, today()).unwrap().first;
        prop_assert_eq!(key.kind(), SubjectKind::Person);
        prop_assert_eq!(key.to_string(), text);
        prop_assert_eq!(SubjectKey::from_bytes(&key.to_bytes()), Some(key));
    }

    /// Mod 31 with weights that are all non-zero and pairwise distinct for
    /// neighbours catches every substitution and adjacent transposition.
    #[test]
    fn credit_code_substitutions_and_transpositions_are_rejected(
        code in uscc_strategy(), pos in 0usize..18, sub in 0usize..31, swap in 0usize..17,
    ) {
        let mut changed = code;
        changed[pos] = USCC_ALPHABET[sub];
        if changed != code {
            prop_assert!(SubjectKey::parse_as_at(
                std::str::from_utf8(&changed).unwrap(), SubjectKind::Org, today()).is_err());
        }
        let mut swapped = code;
        swapped.swap(swap, swap + 1);
        if swapped != code {
            prop_assert!(SubjectKey::parse_as_at(
                std::str::from_utf8(&swapped).unwrap(), SubjectKind::Org, today()).is_err());
        }
    }

    /// MOD 11-2 catches every single-digit substitution and adjacent
    /// transposition of an identity number.
    #[test]
    fn identity_number_substitutions_and_transpositions_are_rejected(
        code in person_strategy(), pos in 0usize..18, sub in 0usize..11, swap in 0usize..17,
    ) {
        let mut changed = code;
        changed[pos] = PERSON_CHECK[sub];
        if changed != code {
            prop_assert!(SubjectKey::parse_as_at(
                std::str::from_utf8(&changed).unwrap(), SubjectKind::Person, today()).is_err());
        }
        let mut swapped = code;
        swapped.swap(swap, swap + 1);
        if swapped != code {
            prop_assert!(SubjectKey::parse_as_at(
                std::str::from_utf8(&swapped).unwrap(), SubjectKind::Person, today()).is_err());
        }
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,24}") {
        let _ = SubjectKey::parse_readings_at(&s, today());
        let _ = MaskedId::parse(&s);
    }

    #[test]
    fn key_order_follows_text_order(a in uscc_strategy(), b in uscc_strategy()) {
        let ka = SubjectKey::parse_as_at(std::str::from_utf8(&a).unwrap(), SubjectKind::Org, today()).unwrap();
        let kb = SubjectKey::parse_as_at(std::str::from_utf8(&b).unwrap(), SubjectKind::Org, today()).unwrap();
        // Alphabet order is ASCII order, so bytes order like the text.
        prop_assert_eq!(ka.to_bytes().cmp(&kb.to_bytes()), a.cmp(&b));
    }
}
