//! Name-only screening never decides on a guess (issue #26): hand-built
//! registers where two subjects explain a name by as few changes, screened
//! and searched over a real socket.

use creditgate::id::build;

use crate::http::{Conn, Server, get};
use crate::util::{creditgate, tempdir, texts};

fn org(division: &str, body: &str) -> String {
    let first16: [u8; 16] = format!("91{division}{body}").as_bytes().try_into().unwrap();
    String::from_utf8(build::uscc(&first16).unwrap().to_vec()).unwrap()
}

fn person(first17: &str) -> String {
    let first17: [u8; 17] = first17.as_bytes().try_into().unwrap();
    String::from_utf8(build::identity_number(&first17).unwrap().to_vec()).unwrap()
}

/// The register: each pair is an id and a name.
fn register() -> Vec<(String, &'static str)> {
    vec![
        (
            org("440300", "MA5F0001"),
            "深圳市通际明兴名联化工有限责任公司",
        ),
        (org("440300", "MA5F0002"), "通际明名联化工有限责任公司"),
        (org("360100", "MA5F0003"), "南昌华远科技有限公司"),
        (org("360400", "MA5F0004"), "九江华远科技有限公司"),
        (org("360000", "MA5F0005"), "江西华达食品有限公司"),
        (org("360000", "MA5F0006"), "江西省华达食品有限责任公司"),
        (org("360700", "MA5F0007"), "赣州瑞丰建材有限公司"),
        (person("36010219800101123"), "张三丰"),
        (person("36040319900202234"), "张三丰"),
        (person("36070219850303345"), "欧阳明远"),
    ]
}

fn answer_rows(body: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v.get("summary").is_none())
        .collect()
}

#[test]
fn a_name_two_subjects_explain_as_well_goes_to_review() {
    let tmp = tempdir();
    let reg = register();
    let mut subjects = String::new();
    for (id, name) in &reg {
        let kind = if id.starts_with("91") {
            "org"
        } else {
            "person"
        };
        subjects.push_str(&serde_json::json!({"id": id, "kind": kind, "name": name}).to_string());
        subjects.push('\n');
    }
    // The company the typed name was made from is a listed debtor.
    let entries = serde_json::json!({
        "entry_id": "T-1", "subject_id": reg[0].0, "list": "black",
        "category": "dishonest_debtor", "authority": "深圳市中级人民法院",
        "basis": "(2026)粤03执1号", "decided_at": "2026-01-05", "status": "active",
    })
    .to_string()
        + "\n";
    std::fs::write(tmp.path().join("subjects.ndjson"), subjects).unwrap();
    std::fs::write(tmp.path().join("entries.ndjson"), entries).unwrap();
    let out = creditgate(
        tmp.path(),
        &[
            "import",
            "--data",
            "store",
            "subjects.ndjson",
            "entries.ndjson",
        ],
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let masked = format!("{}********{}", &reg[7].0[..6], &reg[7].0[14..]);
    let input = [
        ("dropped", "深圳市通际明名联化工有限责任公司"),
        ("traditional", "深圳通際明興名聯化工有限公司"),
        ("region_left_out", "华远科技有限公司"),
        ("form_changed", "南昌华远科技股份有限公司"),
        ("twins", "江西华达食品有限公司"),
        ("homophone", "赣州瑞峰建材有限公司"),
        ("person", "张三丰"),
        ("one_person", "欧阳明远"),
        // Reads as a person's name, but is one company's trade name.
        ("short_trade_name", "瑞丰建材"),
        ("absent", "子虚乌有咨询有限公司"),
    ];
    let mut body: String = input
        .iter()
        .map(|(r, n)| serde_json::json!({"ref": r, "name": n}).to_string() + "\n")
        .collect();
    body.push_str(
        &serde_json::json!({"ref": "masked", "id": masked, "name": "张三丰"}).to_string(),
    );
    let res = Conn::open(server.addr).post(
        "/v1/screen?action=real_estate&at=2026-11-25",
        &[],
        body.as_bytes(),
    );
    assert_eq!(res.status, 200);
    let rows = answer_rows(&res.body);
    let row = |r: &str| rows.iter().find(|x| x["ref"] == r).unwrap().clone();

    // The case: "region added" against "one character dropped".
    let dropped = row("dropped");
    assert_eq!(dropped["decision"], "review", "{dropped}");
    assert_eq!(dropped["match"], serde_json::Value::Null);
    assert_eq!(dropped["no_match"], "ambiguous");
    assert_eq!(dropped["worst_decision"], "deny", "a candidate is listed");
    let candidates = dropped["candidates"].as_array().unwrap();
    let of = |id: &str| candidates.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(of(&reg[0].0)["decision"], "deny");
    assert_eq!(of(&reg[0].0)["changed"], serde_json::json!(["character"]));
    assert_eq!(of(&reg[1].0)["decision"], "allow");
    assert_eq!(
        of(&reg[1].0)["changed"],
        serde_json::json!(["region_added"])
    );
    assert!(candidates.iter().all(|c| c["ambiguous"] == true));

    // Typed otherwise (Traditional, 省/市, 有限公司): no change, decided.
    let traditional = row("traditional");
    assert_eq!(
        traditional["match"]["id"],
        reg[0].0.as_str(),
        "{traditional}"
    );
    assert_eq!(traditional["decision"], "deny");
    assert_eq!(traditional["match"]["changes"], 0);

    // The same trade name in two cities, the region left out: no match,
    // but both would be allowed, so whoever it is the answer is allow.
    let left_out = row("region_left_out");
    assert_eq!(left_out["match"], serde_json::Value::Null, "{left_out}");
    assert_eq!(left_out["decision"], "allow");
    assert_eq!(left_out["no_match"], "ambiguous");
    assert_eq!(left_out["worst_decision"], "allow");
    assert_eq!(left_out["candidates"].as_array().unwrap().len(), 2);

    // Another form: one change for 南昌, two for 九江.
    let form = row("form_changed");
    assert_eq!(form["match"]["id"], reg[2].0.as_str(), "{form}");
    assert_eq!(
        form["match"]["changed"],
        serde_json::json!(["form_changed"])
    );
    assert_eq!(form["match"]["margin"], 1);

    // Two names that need no change to be each other.
    let twins = row("twins");
    assert_eq!(twins["match"], serde_json::Value::Null, "{twins}");
    assert_eq!(twins["no_match"], "ambiguous");

    // One homophone, no other subject as close: decided.
    let homophone = row("homophone");
    assert_eq!(homophone["match"]["id"], reg[6].0.as_str(), "{homophone}");
    assert_eq!(
        homophone["match"]["changed"],
        serde_json::json!(["homophone"])
    );

    // A person's name alone never decides; with a masked id that only one
    // of them fits, it does.
    let person = row("person");
    assert_eq!(person["match"], serde_json::Value::Null, "{person}");
    assert_eq!(person["no_match"], "ambiguous");
    let one = row("one_person");
    assert_eq!(one["match"], serde_json::Value::Null, "{one}");
    assert_eq!(one["no_match"], "person_name");
    let masked = row("masked");
    assert_eq!(masked["match"]["id"], reg[7].0.as_str(), "{masked}");
    assert_eq!(masked["match"]["by"], "masked_id");

    // A trade name alone, short as a person's name: decided on the
    // company, as any other name.
    let short = row("short_trade_name");
    assert_eq!(short["match"]["id"], reg[6].0.as_str(), "{short}");
    assert_eq!(short["match"]["by"], "name");
    assert_eq!(short["match"]["changes"], 1);

    // No subject at all: allow, nobody to review.
    let absent = row("absent");
    assert_eq!(absent["decision"], "allow", "{absent}");
    assert_eq!(absent["no_match"], "not_found");

    // Fewer changes allowed: the form change is no longer a match.
    let res = Conn::open(server.addr).post(
        "/v1/screen?action=real_estate&at=2026-11-25&max_changes=0",
        &[],
        serde_json::json!({"ref": "f", "name": "南昌华远科技股份有限公司"})
            .to_string()
            .as_bytes(),
    );
    let f = &answer_rows(&res.body)[0];
    assert_eq!(f["match"], serde_json::Value::Null, "{f}");
    assert_eq!(f["no_match"], "too_different");
    let res = get(server.addr, "/v1/screen?action=real_estate&max_changes=9");
    assert!(res.status == 400 || res.status == 405, "{}", res.status);
    let res = Conn::open(server.addr).post(
        "/v1/screen?action=real_estate&max_changes=9",
        &[],
        b"{\"name\":\"x\"}\n",
    );
    assert_eq!(res.status, 400);
    assert!(
        String::from_utf8_lossy(&res.body).contains("max_changes"),
        "{}",
        String::from_utf8_lossy(&res.body)
    );

    // The search says the same.
    let q = "/v1/search?q=%E6%B7%B1%E5%9C%B3%E5%B8%82%E9%80%9A%E9%99%85%E6%98%8E%E5%90%8D%E8%81%94%E5%8C%96%E5%B7%A5%E6%9C%89%E9%99%90%E8%B4%A3%E4%BB%BB%E5%85%AC%E5%8F%B8";
    let res = get(server.addr, q);
    assert_eq!(res.status, 200);
    let found: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    let results = found["results"].as_array().unwrap();
    for id in [&reg[0].0, &reg[1].0] {
        let r = results.iter().find(|r| r["id"] == id.as_str()).unwrap();
        assert_eq!(r["changes"], 1, "{r}");
        assert_eq!(r["margin"], 0, "{r}");
        assert_eq!(r["ambiguous"], true, "{r}");
    }
}
