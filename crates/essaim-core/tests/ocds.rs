//! The OCDS export validates against the official OCDS 1.1.5 release-package schema (copied in
//! `tests/ocds/`, the release schema mapped from its `id` URL: nothing is downloaded) and says what a buyer
//! reading it would check: who is the buyer, who bids, who leads, which quantities.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::Utc;
use essaim_core::proposal::example::{self, ExampleInputs};
use essaim_core::proposal::ocds::{OcdsOptions, party_id, release_package};
use essaim_core::{CampaignEvent, Cpv, GroupementKind, Lang, Proposal, ProposalStatus, TenderRef};
use serde_json::{Value, json};

const PACKAGE_SCHEMA: &str = include_str!("ocds/release-package-schema.json");
const RELEASE_SCHEMA: &str = include_str!("ocds/release-schema.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let package: Value = serde_json::from_str(PACKAGE_SCHEMA).expect("package schema is JSON");
        let release: Value = serde_json::from_str(RELEASE_SCHEMA).expect("release schema is JSON");
        let release_id = release["id"].as_str().expect("release schema has an id").to_owned();
        assert_eq!(package["properties"]["releases"]["items"]["$ref"], release_id.as_str());
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft4)
            .add(&release_id, release)
            .expect("release schema id is a URI")
            .prepare()
            .expect("registry");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_registry(&registry)
            .should_validate_formats(true)
            .build(&package)
            .expect("the package schema compiles offline")
    })
}

/// The schema errors of `package`, one line each.
fn errors(package: &Value) -> Vec<String> {
    validator().iter_errors(package).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[track_caller]
fn assert_valid(package: &Value) {
    let errors = errors(package);
    assert!(errors.is_empty(), "not a valid OCDS release package:\n{}\n{package:#}", errors.join("\n"));
}

fn generated_at() -> chrono::DateTime<Utc> {
    example::generated_at()
}

fn inputs() -> ExampleInputs {
    example::inputs().expect("example inputs")
}

fn build(inputs: &ExampleInputs, events: &[CampaignEvent], groupement: bool, lang: Lang) -> Proposal {
    inputs.proposal(events, groupement, GroupementKind::Conjoint, generated_at(), lang).expect("proposal builds")
}

fn release(package: &Value) -> &Value {
    &package["releases"][0]
}

fn array<'a>(value: &'a Value, what: &str) -> &'a Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("{what} is not an array: {value}"))
}

fn roles(party: &Value) -> Vec<&str> {
    array(&party["roles"], "roles").iter().filter_map(Value::as_str).collect()
}

/// Σ of a bid's item quantities, per item id.
fn bid_quantities(bid: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for item in array(&bid["items"], "bid items") {
        *out.entry(item["id"].as_str().expect("item id").to_owned()).or_insert(0.0) +=
            item["quantity"].as_f64().expect("item quantity");
    }
    out
}

/// The (scheme, id) pairs a line's item should carry, main classification first: its CPV code (eight
/// digits, no check digit) then its sector, or its sector alone.
fn classifications(line: &essaim_core::proposal::ProposalLine) -> Vec<(String, String)> {
    let sector = ("x_essaim_sector".to_owned(), line.sector.clone());
    match &line.cpv {
        Some(cpv) => vec![("CPV".to_owned(), cpv.as_str()[..8].to_owned()), sector],
        None => vec![sector],
    }
}

fn item_classifications(item: &Value) -> Vec<(String, String)> {
    let pair = |c: &Value| (c["scheme"].as_str().unwrap_or("").to_owned(), c["id"].as_str().unwrap_or("").to_owned());
    let mut out = vec![pair(&item["classification"])];
    out.extend(item["additionalClassifications"].as_array().into_iter().flatten().map(pair));
    out
}

/// What a reader checks, on any package built from `proposal`.
#[track_caller]
fn assert_says_what_the_proposal_says(proposal: &Proposal, package: &Value, options: &OcdsOptions) {
    assert_valid(package);
    let r = release(package);
    assert!(r["ocid"].as_str().expect("ocid").starts_with(&format!("{}-", options.ocid_prefix)));
    assert_eq!(r["tender"]["id"], proposal.tender.reference.as_str());
    assert_eq!(r["language"], if proposal.language == Lang::Fr { "fr" } else { "en" });
    assert_eq!(r["tag"], json!(["tender"]));

    // Parties: the buyer, every member a tenderer, exactly one lead: the groupement's.
    let parties = array(&r["parties"], "parties");
    let buyer_id = r["buyer"]["id"].as_str().expect("buyer id");
    let buyer = parties.iter().find(|p| p["id"] == buyer_id).expect("the buyer is a party");
    assert!(roles(buyer).contains(&"buyer"));
    assert_eq!(buyer["name"], proposal.tender.buyer.name.as_str());
    for m in &proposal.members {
        let party = parties.iter().find(|p| p["id"] == party_id(&m.siret)).expect("every member is a party");
        assert!(roles(party).contains(&"tenderer"), "{} is a tenderer", m.name);
        assert_eq!(party["identifier"]["id"], m.siret.as_str());
        assert_eq!(party["name"], m.name.as_str());
    }
    let leads: Vec<&Value> = parties.iter().filter(|p| roles(p).contains(&"leadTenderer")).collect();
    match proposal.lead() {
        None => assert!(leads.is_empty(), "a lead still to be named is nobody's role"),
        Some(lead) => {
            assert_eq!(leads.len(), 1, "exactly one lead");
            assert_eq!(leads[0]["identifier"]["id"], lead.siret.as_str());
            assert!(roles(leads[0]).contains(&"tenderer"));
        }
    }
    let ids: Vec<&Value> = parties.iter().map(|p| &p["id"]).collect();
    assert!(ids.iter().enumerate().all(|(i, id)| !ids[..i].contains(id)), "party ids are unique");

    // Tender items and lots: one per line, the line's quantity.
    let items = array(&r["tender"]["items"], "tender items");
    let lots = array(&r["tender"]["lots"], "tender lots");
    assert_eq!(items.len(), proposal.lines.len());
    assert_eq!(lots.len(), proposal.lines.len());
    for line in &proposal.lines {
        let item = items.iter().find(|i| i["id"] == line.id.as_str()).expect("an item per line");
        assert_eq!(item["quantity"].as_f64(), Some(line.quantity), "item {}", line.id);
        assert_eq!(item["unit"]["name"], line.unit.as_str());
        assert_eq!(item["unit"]["value"]["amount"].as_f64(), line.unit_price);
        assert_eq!(item["relatedLot"], line.id.as_str());
        assert!(lots.iter().any(|l| l["id"] == line.id.as_str()), "a lot per line");
        assert_eq!(item_classifications(item), classifications(line), "item {}", line.id);
    }

    // Bids: the grouped bid first, then one per micro-lot.
    let details = match r.get("bids") {
        Some(bids) => array(&bids["details"], "bid details").as_slice(),
        None => &[],
    };
    if proposal.members.is_empty() {
        assert!(details.is_empty());
        return;
    }
    let grouped = &details[0];
    assert_eq!(grouped["id"], "groupement");
    match proposal.lead() {
        Some(lead) => assert_eq!(grouped["leadTenderer"]["id"], party_id(&lead.siret)),
        None => assert!(grouped["leadTenderer"].is_null(), "no lead named yet"),
    }
    let tenderers: Vec<&Value> = array(&grouped["tenderers"], "tenderers").iter().map(|t| &t["id"]).collect();
    let members: Vec<Value> = proposal.members.iter().map(|m| json!(party_id(&m.siret))).collect();
    assert_eq!(tenderers, members.iter().collect::<Vec<_>>(), "the grouped bid has every member, lead first");
    let covered: BTreeMap<String, f64> =
        proposal.lines.iter().filter(|l| l.covered > 0.0).map(|l| (l.id.clone(), l.covered)).collect();
    assert_eq!(bid_quantities(grouped), covered, "grouped bid quantities = covered quantities");
    assert_eq!(details.len(), 1 + proposal.lots().count());
    for lot in proposal.lots() {
        let bid = details.iter().find(|b| b["id"] == format!("offer-{}", lot.offer)).expect("a bid per micro-lot");
        assert_eq!(bid_quantities(bid), BTreeMap::from([(lot.line.clone(), lot.quantity)]), "offer {}", lot.offer);
        assert_eq!(bid["tenderers"][0]["id"], party_id(&lot.supplier));
        assert_eq!(bid["relatedLots"], json!([lot.line]));
        assert_eq!(bid["value"]["amount"].as_f64(), lot.amount);
        let line = proposal.lines.iter().find(|l| l.id == lot.line).expect("the lot's line");
        assert_eq!(item_classifications(&bid["items"][0]), classifications(line), "offer {}", lot.offer);
    }
    let status = if proposal.status == ProposalStatus::Final { json!("pending") } else { Value::Null };
    assert!(details.iter().all(|b| b.get("status").cloned().unwrap_or(Value::Null) == status));
}

/// Every reference inside the release points at something it declares, and the extension fields have the
/// shapes of the bid and lots extensions (which the core schema does not check).
#[track_caller]
fn assert_references_resolve(package: &Value) {
    assert_eq!(
        package["extensions"],
        json!([
            "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
            "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
        ])
    );
    let r = release(package);
    let party_ids: Vec<&str> = array(&r["parties"], "parties").iter().filter_map(|p| p["id"].as_str()).collect();
    let lot_ids: Vec<&str> = array(&r["tender"]["lots"], "lots").iter().filter_map(|l| l["id"].as_str()).collect();
    assert!(party_ids.contains(&r["buyer"]["id"].as_str().expect("buyer id")));
    for lot in array(&r["tender"]["lots"], "lots") {
        assert!(lot["id"].is_string());
        assert_eq!(lot["status"], "active");
    }
    for item in array(&r["tender"]["items"], "items") {
        assert!(lot_ids.contains(&item["relatedLot"].as_str().expect("relatedLot")));
    }
    for t in r["tender"]["tenderers"].as_array().into_iter().flatten() {
        assert!(party_ids.contains(&t["id"].as_str().expect("tenderer id")));
    }
    let Some(details) = r.get("bids").map(|b| array(&b["details"], "bid details")) else { return };
    let mut bid_ids = Vec::new();
    for bid in details {
        let id = bid["id"].as_str().expect("bid ids are strings");
        assert!(!bid_ids.contains(&id), "bid id {id} is unique");
        bid_ids.push(id);
        if let Some(status) = bid.get("status") {
            assert!(
                ["invited", "pending", "valid", "disqualified", "withdrawn"].contains(&status.as_str().unwrap_or(""))
            );
        }
        for t in array(&bid["tenderers"], "bid tenderers") {
            assert!(party_ids.contains(&t["id"].as_str().expect("tenderer id")), "{t} is a party");
        }
        for lot in array(&bid["relatedLots"], "relatedLots") {
            assert!(lot_ids.contains(&lot.as_str().expect("lot id")));
        }
        for item in array(&bid["items"], "bid items") {
            assert!(lot_ids.contains(&item["relatedLot"].as_str().expect("relatedLot")));
        }
    }
}

/// No null, blank string, empty array or empty object anywhere.
fn assert_nothing_empty(value: &Value, path: &str) {
    match value {
        Value::Null => panic!("null at {path}"),
        Value::String(s) => assert!(!s.trim().is_empty(), "blank string at {path}"),
        Value::Array(items) => {
            assert!(!items.is_empty(), "empty array at {path}");
            for (i, v) in items.iter().enumerate() {
                assert_nothing_empty(v, &format!("{path}/{i}"));
            }
        }
        Value::Object(map) => {
            assert!(!map.is_empty(), "empty object at {path}");
            for (k, v) in map {
                assert_nothing_empty(v, &format!("{path}/{k}"));
            }
        }
        _ => {}
    }
}

#[track_caller]
fn check(proposal: &Proposal) -> Value {
    let options = OcdsOptions::default();
    let package = release_package(proposal, &options);
    assert_says_what_the_proposal_says(proposal, &package, &options);
    assert_references_resolve(&package);
    assert_nothing_empty(&package, "");
    package
}

#[test]
fn example_package_validates_in_french_and_english() {
    for lang in [Lang::Fr, Lang::En] {
        let proposal = example::example(lang).expect("example");
        let package = check(&proposal);
        let r = release(&package);
        assert_eq!(package["version"], "1.1");
        assert_eq!(package["publisher"]["name"], "essaim");
        assert_eq!(package["publishedDate"], "2026-12-02T17:00:00Z");
        assert_eq!(r["ocid"], "ocds-essaim-T-2026-014");
        assert_eq!(r["id"], "ocds-essaim-T-2026-014-proposal-20261202T170000Z");
        assert_eq!(r["tender"]["status"], "active");
        assert_eq!(r["tender"]["tenderPeriod"]["endDate"], "2026-12-15T18:00:00+01:00");
        // L1 and L2 are priced, L3 too (3.2 €/kg): the tender's estimated value is the sum of the lines.
        assert_eq!(r["tender"]["value"], json!({"amount": 27_500.0 + 15_500.0 + 1_280.0, "currency": "EUR"}));
        let l2 = &r["tender"]["lots"][1];
        assert_eq!(l2["contractPeriod"]["startDate"], "2027-03-01T00:00:00+01:00");
        assert_eq!(l2["contractPeriod"]["endDate"], "2027-10-31T23:59:59+01:00");
        let esat = r["parties"].as_array().expect("parties").iter().find(|p| p["details"]["kind"] == "ESAT");
        let esat = esat.expect("the ESAT is a party");
        assert_eq!(esat["details"]["family"], "disability");
        assert_eq!(esat["address"]["locality"], "Saint-Fons");
        // The partial acceptance is told as such, with who confirmed it and when.
        let part = r["bids"]["details"].as_array().expect("bids").iter().find(|b| b["id"] == "offer-3");
        let part = part.expect("offer 3");
        assert_eq!(part["date"], "2026-12-01T14:05:00Z");
        assert_eq!(part["commitment"]["answer"], "accept_part");
        assert_eq!(part["commitment"]["channel"], "discord");
        assert!(part["description"].as_str().expect("description").contains("Élodie"));
        let grouped = &r["bids"]["details"][0];
        let text = grouped["description"].as_str().expect("description");
        assert!(text.contains("Propreté Solidaire Lyonnaise"), "the lead is named: {text}");
        assert!(text.contains(if lang == Lang::Fr { "Non couvert" } else { "Not covered" }), "{text}");
    }
}

#[test]
fn package_is_deterministic() {
    let proposal = example::example(Lang::Fr).expect("example");
    let a = serde_json::to_string(&release_package(&proposal, &OcdsOptions::default())).expect("json");
    let b = serde_json::to_string(&release_package(&proposal, &OcdsOptions::default())).expect("json");
    assert_eq!(a, b);
}

#[test]
fn options_set_prefix_publisher_and_uri() {
    let proposal = example::example(Lang::En).expect("example");
    let options = OcdsOptions {
        ocid_prefix: "ocds-a1b2c3".into(),
        publisher: "Réseau IAE du Rhône".into(),
        uri: Some("https://essaim.example.org/tenders/T-2026-014/proposal.ocds.json".into()),
    };
    let package = release_package(&proposal, &options);
    assert_says_what_the_proposal_says(&proposal, &package, &options);
    assert_eq!(package["uri"], options.uri.as_deref().expect("uri"));
    assert_eq!(package["publisher"]["name"], "Réseau IAE du Rhône");
    assert_eq!(release(&package)["ocid"], "ocds-a1b2c3-T-2026-014");
}

#[test]
fn unpriced_lines_give_no_values() {
    let mut inputs = inputs();
    for line in &mut inputs.tender.lines {
        line.unit_price = None;
    }
    let proposal = build(&inputs, &inputs.events, true, Lang::Fr);
    let package = check(&proposal);
    let r = release(&package);
    assert!(r["tender"].get("value").is_none());
    assert!(r["tender"]["lots"].as_array().expect("lots").iter().all(|l| l.get("value").is_none()));
    assert!(r["bids"]["details"].as_array().expect("bids").iter().all(|b| b.get("value").is_none()));

    // One unpriced line: no estimated total for the tender, nor for the grouped bid.
    let mut inputs = self::inputs();
    inputs.tender.lines[2].unit_price = None;
    let proposal = build(&inputs, &inputs.events, true, Lang::Fr);
    let package = check(&proposal);
    assert!(release(&package)["tender"].get("value").is_none());
    assert!(release(&package)["bids"]["details"][0].get("value").is_none());
}

#[test]
fn every_family_is_told_and_a_geiq_has_none() {
    let mut inputs = inputs();
    // The ACI becomes a GEIQ: in neither family, so its party has a kind and no family.
    inputs.suppliers[3].kind = essaim_core::SupplierKind::Geiq;
    let proposal = build(&inputs, &inputs.events, true, Lang::Fr);
    let package = check(&proposal);
    let parties = array(&release(&package)["parties"], "parties");
    let family = |kind: &str| {
        let party = parties.iter().find(|p| p["details"]["kind"] == kind).expect("a party of that kind");
        party["details"].get("family").cloned()
    };
    assert_eq!(family("EI"), Some(json!("iae")));
    assert_eq!(family("ESAT"), Some(json!("disability")));
    assert_eq!(family("GEIQ"), None);
}

#[test]
fn ad_hoc_grouping_validates_with_and_without_its_designated_lead() {
    let inputs = inputs();
    let proposal = build(&inputs, &inputs.events, false, Lang::En);
    assert_eq!(proposal.groupement.lead_basis, essaim_core::proposal::LeadBasis::ToDesignate);
    check(&proposal);
    let mut events = inputs.events.clone();
    let by = essaim_core::Actor { channel: "cli".into(), user_id: "fac".into(), chat_id: None, name: None };
    let lead = inputs.suppliers[0].siret.to_string();
    events.push(CampaignEvent::LeadDesignated { at: generated_at(), by, supplier: lead });
    let proposal = build(&inputs, &events, false, Lang::En);
    assert_eq!(proposal.groupement.lead_basis, essaim_core::proposal::LeadBasis::Designated);
    let package = check(&proposal);
    let text = release(&package)["bids"]["details"][0]["description"].as_str().expect("description").to_owned();
    assert!(text.contains("named for this groupement"), "{text}");
}

#[test]
fn draft_while_offers_are_open_validates() {
    let inputs = inputs();
    // Drop the last answer and the `ready` event: one offer stays open.
    let events = &inputs.events[..inputs.events.len() - 2];
    let proposal = build(&inputs, events, true, Lang::Fr);
    assert_eq!(proposal.status, ProposalStatus::Draft);
    assert!(proposal.campaign.open_offers > 0);
    let package = check(&proposal);
    let grouped = &release(&package)["bids"]["details"][0];
    assert!(grouped.get("status").is_none(), "a draft is not submitted");
    assert!(grouped["description"].as_str().expect("description").contains("Projet"));
}

#[test]
fn no_lot_at_all_still_validates() {
    let inputs = inputs();
    // Launched and offered, nobody answered yet.
    let events = &inputs.events[..2];
    let proposal = build(&inputs, events, false, Lang::Fr);
    assert_eq!(proposal.lots().count(), 0);
    check(&proposal);
}

#[test]
fn odd_names_and_references_validate() {
    let mut inputs = inputs();
    let hostile = "  Atelier \"Zéro\" <script>alert('x')</script> & Cie\n\t# 🐝 \u{202e}gnp.exe \\ % {} null ";
    inputs.suppliers[0].name = hostile.into();
    inputs.suppliers[2].commune = Some("69387".into());
    inputs.suppliers[1].commune = Some("   ".into());
    inputs.suppliers[3].commune = None;
    inputs.tender.buyer.name = "Ville d'Ödön — « acheteur » #1".into();
    inputs.tender.buyer.siret = None;
    inputs.tender.title = String::new();
    inputs.tender.deadline = None;
    inputs.tender.reference = TenderRef::parse("ref", "T#2026/014?x=é").expect("reference");
    inputs.tender.lines[0].title = Some("   ".into());
    inputs.tender.lines[1].unit = "m²".into();
    inputs.tender.lines[2].title = Some("Blanchisserie\u{0}des tenues\r\n".into());
    let proposal = build(&inputs, &inputs.events, true, Lang::Fr);
    let package = check(&proposal);
    let r = release(&package);
    assert!(!r["id"].as_str().expect("id").contains('#'), "a release id has no #");
    assert!(package["uri"].as_str().expect("uri").starts_with("urn:essaim:ocds:"));
    assert_eq!(r["buyer"]["id"], "buyer");
    let lead = r["parties"].as_array().expect("parties").iter().find(|p| roles(p).contains(&"leadTenderer"));
    assert_eq!(lead.expect("lead")["name"], hostile);
    let by_commune =
        |code: &str| r["parties"].as_array().expect("parties").iter().any(|p| p["details"]["communeCode"] == code);
    assert!(by_commune("69387"), "an INSEE code is not a locality");
    assert_eq!(r["tender"]["items"][1]["unit"]["id"], "MTK");
}

#[test]
fn a_line_with_a_cpv_code_is_classified_by_it_and_keeps_its_sector() {
    let mut inputs = inputs();
    inputs.tender.lines[0].cpv = Some(Cpv::parse("cpv", "90911200-8").expect("cpv"));
    inputs.tender.lines[2].cpv = Some(Cpv::parse("cpv", "98310000").expect("cpv"));
    for lang in [Lang::Fr, Lang::En] {
        let proposal = build(&inputs, &inputs.events, true, lang);
        let package = check(&proposal);
        let items = array(&release(&package)["tender"]["items"], "items");
        assert_eq!(items[0]["classification"], json!({"scheme": "CPV", "id": "90911200"}));
        assert_eq!(items[0]["additionalClassifications"], json!([{"scheme": "x_essaim_sector", "id": "nettoyage"}]));
        // L2 has none: its sector stays the classification, with nothing beside it.
        assert_eq!(items[1]["classification"], json!({"scheme": "x_essaim_sector", "id": "espaces_verts"}));
        assert!(items[1].get("additionalClassifications").is_none());
        assert_eq!(items[2]["classification"], json!({"scheme": "CPV", "id": "98310000"}));
    }
}

#[test]
fn every_party_is_identified_by_its_siret_under_fr_rcs() {
    // An association-run AI and ACI, an ESAT and a public buyer: org-id.guide points every SIREN/SIRET to
    // FR-RCS (FR-INSEE is deprecated in its favour), so the scheme does not depend on the legal form.
    let mut inputs = inputs();
    inputs.suppliers[1].kind = essaim_core::SupplierKind::Ai;
    inputs.tender.buyer.kind = Some(essaim_core::BuyerKind::Public);
    let proposal = build(&inputs, &inputs.events, true, Lang::Fr);
    let package = check(&proposal);
    let parties = array(&release(&package)["parties"], "parties");
    let mut sirets: Vec<&str> = proposal.members.iter().map(|m| m.siret.as_str()).collect();
    sirets.extend(proposal.tender.buyer.siret.as_ref().map(|s| s.as_str()));
    assert_eq!(parties.len(), sirets.len(), "the buyer and every member");
    for siret in sirets {
        let party = parties.iter().find(|p| p["identifier"]["id"] == siret).expect("a party per SIRET");
        assert_eq!(party["identifier"]["scheme"], "FR-RCS");
        assert_eq!(party["id"], format!("FR-RCS-{siret}"));
        assert_eq!(party["id"], party_id(siret));
        assert!(siret.len() == 14 && siret.bytes().all(|b| b.is_ascii_digit()), "the 14-digit SIRET: {siret}");
    }
}

#[test]
fn validator_rejects_broken_packages() {
    let proposal = example::example(Lang::Fr).expect("example");
    let package = release_package(&proposal, &OcdsOptions::default());
    assert_valid(&package);

    let mut date_as_number = package.clone();
    date_as_number["releases"][0]["date"] = json!(20261202);
    assert!(!errors(&date_as_number).is_empty(), "a numeric release date is refused");

    let mut no_ocid = package.clone();
    no_ocid["releases"][0].as_object_mut().expect("release").remove("ocid");
    assert!(!errors(&no_ocid).is_empty(), "a release without ocid is refused");

    let mut bad_tag = package.clone();
    bad_tag["releases"][0]["tag"] = json!(["bid"]);
    assert!(!errors(&bad_tag).is_empty(), "a tag outside the closed codelist is refused");

    let mut bad_currency = package.clone();
    bad_currency["releases"][0]["tender"]["value"]["currency"] = json!("EURO");
    assert!(!errors(&bad_currency).is_empty(), "an unknown currency is refused");

    let mut bad_date = package.clone();
    bad_date["publishedDate"] = json!("2 décembre 2026");
    assert!(!errors(&bad_date).is_empty(), "formats are checked");

    let mut no_publisher = package;
    no_publisher.as_object_mut().expect("package").remove("publisher");
    assert!(!errors(&no_publisher).is_empty(), "a package without publisher is refused");
}

/// Writes the example package for `scripts/validate_ocds.py` (or any OCDS tool) to `ESSAIM_OCDS_OUT`,
/// default `<tmp>/ocds-example.json`: `cargo test -p essaim-core --test ocds -- --ignored`.
#[test]
#[ignore = "writes a file; run on demand"]
fn write_example_package() {
    let proposal = example::example(Lang::Fr).expect("example");
    let package = release_package(&proposal, &OcdsOptions::default());
    let path = std::env::var_os("ESSAIM_OCDS_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ocds-example.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&package).expect("json")).expect("writes the package");
    eprintln!("wrote {}", path.display());
}
