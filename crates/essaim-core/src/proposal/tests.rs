use super::example::{example, inputs};
use super::*;
use std::collections::BTreeSet;

use crate::{Campaign, CampaignEvent, haversine_km};

/// English, solidaire by default (the example itself is French and conjoint).
fn build(inputs: &super::example::ExampleInputs, events: &[CampaignEvent], groupement: bool) -> Proposal {
    inputs.proposal(events, groupement, GroupementKind::Solidaire, Utc::now(), Lang::En).expect("builds")
}

#[test]
fn lots_are_the_accepted_offers_with_their_commitment() {
    let p = example(Lang::Fr).expect("example builds");
    assert_eq!(p.status, ProposalStatus::Final);
    let lots: Vec<(u32, &str, f64)> = p.lots().map(|l| (l.offer, l.line.as_str(), l.quantity)).collect();
    // Offer 2 was declined: not a lot. Offer 3 was accepted in part (250 of 300).
    assert_eq!(lots, vec![(1, "L1", 700.0), (3, "L2", 250.0), (4, "L2", 200.0), (6, "L2", 50.0), (5, "L3", 100.0)]);
    let part = p.lots().find(|l| l.offer == 3).expect("offer 3");
    assert_eq!(part.commitment.answer, Acceptance::Part);
    assert_eq!(part.commitment.offered, 300.0);
    assert_eq!(part.commitment.channel, "discord");
    assert_eq!(part.commitment.confirmed_by.as_deref(), Some("Élodie"));
    assert_eq!(part.commitment.on_behalf_of, part.supplier_name, "the person confirms for the structure");
    assert_eq!(part.share_of_line, 0.5);
}

#[test]
fn figures_recomputed_from_the_lots_agree() {
    let inputs = inputs().expect("inputs");
    let p = example(Lang::En).expect("example builds");
    let settings = ImpactSettings::default();
    let (mut hours, mut km, mut local, mut units, mut amount) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut insertion, mut disability) = (0.0, 0.0);
    for lot in p.lots() {
        let s = inputs.suppliers.iter().find(|s| s.siret.as_str() == lot.supplier).expect("supplier");
        let line = inputs.tender.line(&lot.line).expect("line");
        let d = haversine_km(s.location, line.site);
        assert!((d - lot.distance_km).abs() < 1e-5, "distance of offer {}", lot.offer);
        units += lot.quantity;
        if d <= 30.0 {
            local += lot.quantity;
        }
        amount += lot.quantity * line.unit_price.unwrap_or(0.0);
        if line.unit == "h" {
            hours += lot.quantity;
            let weighted = lot.quantity * settings.insertion_rate[&s.kind];
            match s.kind {
                SupplierKind::Ei | SupplierKind::Aci => insertion += weighted,
                SupplierKind::Esat => disability += weighted,
                other => panic!("the example has no {other} holding a lot"),
            }
            km += 2.0 * d * lot.quantity / 7.0;
        } else {
            km += 2.0 * d;
        }
    }
    let f = &p.impact.figures;
    assert!((f.total_hours - hours).abs() < 1e-6);
    assert!((f.insertion_hours - insertion).abs() < 1e-5, "SIAE only: {} vs {insertion}", f.insertion_hours);
    assert!((f.disability_hours - disability).abs() < 1e-5, "the ESAT's hours apart");
    assert_eq!(f.geiq_hours, 0.0);
    assert!((f.insertion_etp - insertion / 1607.0).abs() < 1e-6);
    assert!((f.etp - hours / 1607.0).abs() < 1e-6);
    assert!((f.km_travelled - km).abs() < 1e-4);
    assert!((f.co2_kg - km * 0.2).abs() < 1e-4);
    assert!((f.local_share - local / units).abs() < 1e-6);
    assert_eq!((f.structures, f.siae_structures, f.geiq_structures, f.disability_structures), (3, 2, 0, 1));
    assert_eq!(p.totals.amount, Some((amount * 100.0_f64).round() / 100.0));
    assert!(p.totals.fully_priced);
    assert_eq!(p.totals.share_basis, ShareBasis::Amount);
    let shares: f64 = p.members.iter().filter_map(|m| m.share_of_bid).sum();
    assert!((shares - 1.0).abs() < 1e-5, "shares of the bid add up to 1, got {shares}");
    let keys: Vec<&str> = p.impact.explained.iter().map(|e| e.key.as_str()).collect();
    for key in ["insertion_hours", "disability_hours", "etp", "structures", "local_share", "km_travelled", "co2_kg"] {
        assert!(keys.contains(&key), "{key} is explained");
    }
    assert!(!keys.contains(&"geiq_hours"), "no GEIQ in the bid, no GEIQ hours to tell");
    assert!(p.impact.explained.iter().all(|e| !e.explanation.is_empty()));
}

#[test]
fn a_geiq_in_the_bid_is_counted_apart_and_never_as_an_siae() {
    let mut inputs = inputs().expect("inputs");
    // The ACI (offers 4 and 6 on L2, 250 h) becomes a GEIQ.
    inputs.suppliers[3].kind = SupplierKind::Geiq;
    let p = inputs.proposal(&inputs.events, true, GroupementKind::Conjoint, Utc::now(), Lang::Fr).expect("builds");
    let f = &p.impact.figures;
    assert_eq!((f.structures, f.siae_structures, f.geiq_structures, f.disability_structures), (3, 1, 1, 1));
    assert_eq!(f.geiq_hours, 175.0, "250 h × 0.7");
    assert_eq!(f.insertion_hours, 700.0 * 0.6, "the EI's hours only");
    let structures = p.impact.explained.iter().find(|e| e.key == "structures").expect("structures");
    assert_eq!(structures.display, "3 structures\u{a0}: 1\u{a0}SIAE, 1\u{a0}GEIQ, 1\u{a0}ESAT");
    let geiq = p.members.iter().find(|m| m.kind == SupplierKind::Geiq).expect("the GEIQ");
    assert_eq!(geiq.family, None, "a GEIQ is neither an SIAE nor disability employment");
    let geiq = p.impact.explained.iter().find(|e| e.key == "geiq_hours").expect("GEIQ hours are told");
    assert_eq!((geiq.label.as_str(), geiq.display.as_str()), ("Heures GEIQ", "175 h"));
}

#[test]
fn figure_labels_name_the_families() {
    let fr = example(Lang::Fr).expect("example builds");
    let label = |p: &Proposal, key: &str| {
        p.impact.explained.iter().find(|e| e.key == key).map(|e| e.label.clone()).unwrap_or_default()
    };
    assert_eq!(label(&fr, "insertion_hours"), "Heures d'insertion (SIAE)");
    assert_eq!(label(&fr, "disability_hours"), "Heures de travail de personnes handicapées (ESAT, EA, EATT, TIH)");
    let structures = fr.impact.explained.iter().find(|e| e.key == "structures").expect("structures");
    assert_eq!(structures.display, "3 structures\u{a0}: 2\u{a0}SIAE, 1\u{a0}ESAT");
    assert!(structures.explanation.contains("OETH"), "{}", structures.explanation);
    let insertion = fr.impact.explained.iter().find(|e| e.key == "insertion_hours").expect("insertion hours");
    assert!(!insertion.explanation.contains("ESAT") && !insertion.explanation.contains("GEIQ"));
    let en = example(Lang::En).expect("example builds");
    assert_eq!(label(&en, "insertion_hours"), "Insertion hours (SIAE)");
    assert_eq!(label(&en, "disability_hours"), "Hours worked by disabled people (ESAT, EA, EATT, TIH)");
}

#[test]
fn the_lead_comes_first_and_every_member_has_siret_kind_and_commune() {
    let p = example(Lang::Fr).expect("example builds");
    let lead = p.lead().expect("a lead");
    assert_eq!(p.groupement.lead.as_deref(), Some(lead.siret.as_str()));
    assert_eq!(p.groupement.lead_basis, LeadBasis::Groupement);
    assert_eq!(p.members[0].siret, lead.siret);
    assert_eq!(p.members.iter().filter(|m| m.lead).count(), 1);
    // The declining ETTI holds no lot: not part of the bid.
    assert!(p.members.iter().all(|m| m.lots > 0));
    assert!(p.members.iter().all(|m| m.commune.is_some()));
    let esat = p.members.iter().find(|m| m.kind == SupplierKind::Esat).expect("the ESAT");
    assert_eq!(esat.family, Some(KindFamily::Disability));
    let aci = p.members.iter().find(|m| m.kind == SupplierKind::Aci).expect("the ACI");
    assert_eq!(aci.family, Some(KindFamily::Iae));
}

#[test]
fn what_is_not_covered_is_stated_with_its_reason_in_the_readers_language() {
    let fr = example(Lang::Fr).expect("example builds");
    let lines: Vec<(&str, f64)> = fr.shortfall.iter().map(|s| (s.line.as_str(), s.quantity)).collect();
    assert_eq!(lines, vec![("L1", 300.0), ("L3", 300.0)]);
    assert!(fr.shortfall[1].reason.contains("capacité épuisée"), "{}", fr.shortfall[1].reason);
    assert!(fr.shortfall[1].reason.contains("ESAT Les Ateliers du Rhône"), "supplier named, not its SIRET");
    let en = example(Lang::En).expect("example builds");
    assert!(en.shortfall[0].reason.contains("max share"), "{}", en.shortfall[0].reason);
    for (line, short) in fr.lines.iter().zip([300.0, 0.0, 300.0]) {
        assert_eq!(line.uncovered, short, "line {}", line.id);
        assert_eq!(line.covered + line.uncovered, line.quantity);
    }
}

#[test]
fn a_running_campaign_gives_a_draft_with_pending_quantity() {
    let inputs = inputs().expect("inputs");
    // Stop before the ACI answers offer 4 and before anything after it.
    let events: Vec<CampaignEvent> = inputs.events[..5].to_vec();
    let p = build(&inputs, &events, true);
    assert_eq!(p.status, ProposalStatus::Draft);
    assert_eq!(p.campaign.status, CampaignStatus::Running);
    let l2 = &p.lines[1];
    assert_eq!((l2.covered, l2.pending, l2.uncovered), (250.0, 200.0, 50.0));
    let short = p.shortfall.iter().find(|s| s.line == "L2").expect("L2 not fully covered yet");
    assert_eq!((short.quantity, short.pending), (250.0, 200.0));
    assert!(short.reason.contains("awaiting an answer"), "{}", short.reason);
}

#[test]
fn without_a_groupement_the_lead_is_designated_never_computed() {
    let inputs = inputs().expect("inputs");
    let p = build(&inputs, &inputs.events, false);
    assert_eq!(p.groupement.code, None);
    assert_eq!((p.groupement.lead.as_deref(), p.groupement.lead_basis), (None, LeadBasis::ToDesignate));
    assert!(p.lead().is_none() && p.members.iter().all(|m| !m.lead), "no member is made lead silently");
    assert_eq!(p.groupement.kind, GroupementKind::Solidaire, "the configured default");
    let html = super::html::render(&p);
    assert!(html.contains("to be named") && html.contains("R2142-24"), "the page says the lead is to be named");

    // The facilitator designates the ACI (not the largest share): it leads.
    let aci = inputs.suppliers[2].siret.to_string();
    let mut events = inputs.events.clone();
    let by = crate::Actor { channel: "telegram".into(), user_id: "1".into(), chat_id: None, name: None };
    events.push(CampaignEvent::LeadDesignated { at: Utc::now(), by, supplier: aci.clone() });
    let p = build(&inputs, &events, false);
    assert_eq!((p.groupement.lead.as_deref(), p.groupement.lead_basis), (Some(aci.as_str()), LeadBasis::Designated));
    assert_eq!(p.members[0].siret, aci, "the lead first");
}

#[test]
fn the_tender_may_require_the_kind_of_groupement() {
    let mut inputs = inputs().expect("inputs");
    inputs.tender.groupement_kind = Some(GroupementKind::Conjoint);
    let p = build(&inputs, &inputs.events, true);
    assert_eq!(p.groupement.kind, GroupementKind::Conjoint, "the tender's choice wins over the default");
}

#[test]
fn a_named_lead_without_lots_still_answers_for_the_groupement() {
    let mut inputs = inputs().expect("inputs");
    // Make the declining ETTI the lead: it holds no lot but is the single point of contact.
    inputs.groupement.lead = inputs.suppliers[1].siret.clone();
    let p = build(&inputs, &inputs.events, true);
    let lead = p.lead().expect("a lead");
    assert_eq!(lead.siret, inputs.suppliers[1].siret.as_str());
    assert_eq!((lead.lots, lead.share_of_bid), (0, Some(0.0)));
    assert_eq!(p.totals.members, 3, "members holding lots");
}

#[test]
fn a_campaign_of_another_tender_is_refused() {
    let inputs = inputs().expect("inputs");
    let campaign = Campaign::replay(crate::TenderRef::parse("ref", "T-OTHER").expect("ref"), &inputs.events)
        .expect("replays")
        .expect("launched");
    let err = Proposal::build(&ProposalInput {
        tender: &inputs.tender,
        groupement: None,
        suppliers: &inputs.suppliers,
        campaign: &campaign,
        impact: &ImpactSettings::default(),
        bid: &BidSettings::default(),
        groupement_kind: GroupementKind::Conjoint,
        generated_at: Utc::now(),
        lang: Lang::Fr,
    });
    assert!(matches!(err, Err(ProposalError::OtherTender { .. })));
}

#[test]
fn json_field_names_are_stable() {
    let p = example(Lang::Fr).expect("example builds");
    let json = serde_json::to_value(&p).expect("serialises");
    for key in [
        "format_version",
        "status",
        "valid_until",
        "tender",
        "groupement",
        "members",
        "lines",
        "shortfall",
        "repartition",
        "totals",
        "impact",
        "clauses",
        "oeth",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["status"], "final");
    assert_eq!(json["lines"][0]["lots"][0]["commitment"]["channel"], "telegram");
    // The typed fields keep the words of the interchange format (docs/proposal.md).
    assert_eq!(
        (&json["campaign"]["status"], &json["totals"]["currency"]),
        (&serde_json::json!("ready"), &serde_json::json!("EUR"))
    );
    assert_eq!(json["groupement"]["lead_basis"], "groupement");
    let answers: BTreeSet<&str> = p
        .lots()
        .zip(json["lines"].as_array().expect("lines").iter().flat_map(|l| l["lots"].as_array().expect("lots")))
        .map(|(lot, out)| {
            let answer = out["commitment"]["answer"].as_str().expect("answer");
            assert_eq!(answer, if lot.commitment.answer == Acceptance::Part { "accept_part" } else { "accept" });
            answer
        })
        .collect();
    assert_eq!(answers, BTreeSet::from(["accept", "accept_part"]));
    let family = |kind: &str| {
        let members = json["members"].as_array().expect("members");
        members.iter().find(|m| m["kind"] == kind).map(|m| m["family"].clone()).expect("member")
    };
    assert_eq!((family("EI"), family("ESAT")), (serde_json::json!("iae"), serde_json::json!("disability")));
    let figures = json["impact"]["figures"].as_object().expect("figures");
    for key in ["insertion_hours", "geiq_hours", "disability_hours", "siae_structures", "geiq_structures"] {
        assert!(figures.contains_key(key), "{key}");
    }
    assert_eq!(figures["disability_structures"], 1);
    assert!(!figures.contains_key("protected_structures") && json["members"][0].get("protected_sector").is_none());
    assert_eq!(json["format_version"], 3);
    assert!(json["lines"][0]["lots"][0]["commitment"].get("user_id").is_none(), "no chat id for the buyer");
    let back: Proposal = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, p);
}

#[test]
fn a_draft_says_running_and_an_unknown_currency_or_answer_does_not_read_back() {
    let inputs = inputs().expect("inputs");
    let draft = build(&inputs, &inputs.events[..inputs.events.len() - 2], true);
    let json = serde_json::to_value(&draft).expect("serialises");
    assert_eq!(
        (&json["status"], &json["campaign"]["status"]),
        (&serde_json::json!("draft"), &serde_json::json!("running"))
    );
    for (pointer, value) in
        [("/totals/currency", "USD"), ("/lines/0/lots/0/commitment/answer", "decline"), ("/campaign/status", "closed")]
    {
        let mut bad = json.clone();
        *bad.pointer_mut(pointer).expect(pointer) = serde_json::json!(value);
        let err = serde_json::from_value::<Proposal>(bad).expect_err(pointer);
        assert!(err.to_string().contains(value), "{pointer}: {err}");
    }
}

#[test]
fn a_commune_given_by_its_insee_code_is_named() {
    let mut inputs = inputs().expect("inputs");
    inputs.suppliers[0].commune = Some("69387".into());
    let p = build(&inputs, &inputs.events, true);
    let lead = p.lead().expect("a lead");
    assert_eq!(lead.commune.as_deref(), Some("Lyon 7e Arrondissement"));
    assert_eq!(lead.commune_code.as_deref(), Some("69387"));
    let esat = p.members.iter().find(|m| m.kind == SupplierKind::Esat).expect("the ESAT");
    assert_eq!((esat.commune.as_deref(), esat.commune_code.as_deref()), (Some("Saint-Fons"), None));
}

/// The example with given bid settings, French, conjoint, at its own generation time.
fn with_bid(inputs: &super::example::ExampleInputs, bid: &BidSettings) -> Proposal {
    inputs
        .proposal_with(&inputs.events, true, GroupementKind::Conjoint, super::example::generated_at(), Lang::Fr, bid)
        .expect("builds")
}

fn sector(s: &str) -> Sector {
    Sector::parse("sector", s).expect("sector")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.011
}

#[test]
fn a_lot_is_priced_at_its_members_price_else_at_the_lines_reference() {
    let mut inputs = inputs().expect("inputs");
    // The EI quotes its own price for cleaning; the ESAT has none for laundry, and L3 loses its reference.
    inputs.suppliers[0].prices.insert(sector("nettoyage"), 26.0);
    inputs.tender.lines[2].unit_price = None;
    let p = with_bid(&inputs, &BidSettings::default());
    let own = p.lots().find(|l| l.offer == 1).expect("offer 1");
    assert_eq!((own.unit_price, own.price_basis), (Some(26.0), PriceBasis::Member));
    assert!(close(own.amount.expect("priced"), 700.0 * 26.0));
    for lot in p.lots().filter(|l| l.line == "L2") {
        assert_eq!((lot.unit_price, lot.price_basis), (Some(31.0), PriceBasis::Reference), "offer {}", lot.offer);
        assert!(close(lot.amount.expect("priced"), lot.quantity * 31.0));
    }
    let laundry = p.lots().find(|l| l.line == "L3").expect("a laundry lot");
    assert_eq!((laundry.unit_price, laundry.price_basis, laundry.amount), (None, PriceBasis::Unpriced, None));
    assert!(!p.totals.fully_priced, "one lot has no price");
    let page = html::render(&p);
    assert!(page.contains("prix du membre") && page.contains("prix de référence"), "the page says which price");
}

#[test]
fn totals_excluding_vat_vat_and_including_vat_add_up_from_the_lots() {
    let mut inputs = inputs().expect("inputs");
    inputs.suppliers[0].prices.insert(sector("nettoyage"), 26.35);
    // Laundry at the reduced rate; the other lines take the configured default.
    inputs.tender.lines[2].vat_rate = Some(0.1);
    let bid = BidSettings { vat_rate: 0.2, ..BidSettings::default() };
    let p = with_bid(&inputs, &bid);
    let (mut ht, mut vat) = (0.0, 0.0);
    for line in &p.lines {
        let rate = if line.id == "L3" { 0.1 } else { 0.2 };
        assert_eq!(line.vat_rate, rate, "{}", line.id);
        let (mut line_ht, mut line_vat) = (0.0, 0.0);
        for lot in &line.lots {
            let amount = lot.amount.expect("every lot is priced");
            assert!(close(amount, lot.quantity * lot.unit_price.expect("price")), "offer {}", lot.offer);
            assert!(close(lot.vat.expect("vat"), amount * rate), "offer {}", lot.offer);
            assert!(close(lot.amount_incl_vat.expect("ttc"), amount * (1.0 + rate)), "offer {}", lot.offer);
            line_ht += amount;
            line_vat += lot.vat.expect("vat");
        }
        assert!(close(line.amount.unwrap_or(0.0), line_ht) && close(line.vat.unwrap_or(0.0), line_vat), "{}", line.id);
        ht += line_ht;
        vat += line_vat;
    }
    let t = &p.totals;
    assert!(close(t.amount.expect("HT"), ht) && close(t.vat.expect("TVA"), vat));
    assert!(close(t.amount_incl_vat.expect("TTC"), ht + vat));
    for m in &p.members {
        let own: f64 = p.lots().filter(|l| l.supplier == m.siret).filter_map(|l| l.amount).sum();
        let own_vat: f64 = p.lots().filter(|l| l.supplier == m.siret).filter_map(|l| l.vat).sum();
        assert!(close(m.amount.unwrap_or(0.0), own) && close(m.vat.unwrap_or(0.0), own_vat), "{}", m.name);
    }
    let repartition: f64 = p.repartition.iter().filter_map(|r| r.amount).sum();
    assert!(close(repartition, ht), "the répartition table adds up to the bid");
    let page = html::render(&p);
    for figure in [ht, vat, ht + vat] {
        let shown = crate::format_number(figure, 2, Lang::Fr);
        assert!(page.contains(&shown), "{shown} on the page");
    }
}

#[test]
fn the_oeth_estimate_follows_its_formula_for_a_public_and_a_private_buyer() {
    let mut inputs = inputs().expect("inputs");
    let mut bid = BidSettings::default();
    bid.labour_share.insert(sector("espaces_verts"), 0.75);
    // Lots of the ESAT (EA, EATT, ESAT, TIH are deductible; the EI and the ACI are not).
    let expected = |p: &Proposal| -> (usize, f64, f64) {
        let esat = inputs.suppliers[2].siret.as_str();
        let lots: Vec<&ProposalLot> = p.lots().filter(|l| l.supplier == esat).collect();
        let amount: f64 = lots.iter().filter_map(|l| l.amount).sum();
        let labour: f64 = lots.iter().map(|l| l.amount.unwrap_or(0.0) * if l.line == "L2" { 0.75 } else { 0.7 }).sum();
        (lots.len(), amount, labour)
    };

    inputs.tender.buyer.kind = Some(crate::BuyerKind::Public);
    inputs.tender.buyer.oeth_contribution = Some(800.0);
    inputs.tender.buyer.direct_employment_rate = Some(0.02);
    let p = with_bid(&inputs, &bid);
    let o = p.oeth.as_ref().expect("the ESAT holds lots");
    let (lots, amount, labour) = expected(&p);
    assert_eq!(o.lots, lots);
    assert!(close(o.amount, amount) && close(o.labour_cost, labour));
    assert!(close(o.deductible, 0.3 * labour));
    assert_eq!((o.fund.as_deref(), o.cap_share), (Some("FIPHFP"), 0.5));
    assert!(close(o.cap.expect("cap"), 400.0));
    assert!(close(o.deductible_capped.expect("capped"), (0.3 * labour).min(400.0)));
    assert!(html::render(&p).contains("FIPHFP"));

    inputs.tender.buyer.kind = Some(crate::BuyerKind::Private);
    inputs.tender.buyer.direct_employment_rate = Some(0.035);
    let p = with_bid(&inputs, &bid);
    let o = p.oeth.as_ref().expect("the ESAT holds lots");
    assert_eq!((o.fund.as_deref(), o.cap_share), (Some("AGEFIPH"), 0.75), "3 % of direct employment: 75 %");
    assert!(close(o.cap.expect("cap"), 600.0));
    assert!(close(o.deductible_capped.expect("capped"), (0.3 * labour).min(600.0)));
    assert!(html::render(&p).contains("AGEFIPH"));

    // Without the contribution, the cap is stated in words only.
    inputs.tender.buyer.oeth_contribution = None;
    let o = with_bid(&inputs, &bid).oeth.expect("estimate");
    assert_eq!((o.cap, o.deductible_capped), (None, None));

    // No lot of a deductible kind: no estimate.
    inputs.suppliers[2].kind = SupplierKind::Ei;
    assert_eq!(with_bid(&inputs, &bid).oeth, None);
}

#[test]
fn the_clause_target_is_set_against_the_hours_projected_by_the_lots() {
    let mut inputs = inputs().expect("inputs");
    inputs.tender.lines[0].insertion_hours_min = Some(300.0);
    inputs.tender.lines[1].insertion_hours_min = Some(450.0);
    inputs.suppliers[3].insertion_rate = Some(0.9);
    let p = with_bid(&inputs, &BidSettings::default());
    let rates = ImpactSettings::default().insertion_rate;
    let (mut target, mut projected, mut gap) = (0.0, 0.0, 0.0);
    for (line, tender_line) in p.lines.iter().zip(&inputs.tender.lines) {
        let Some(want) = tender_line.insertion_hours_min else {
            assert_eq!(line.clause, None, "{}: no clause", line.id);
            continue;
        };
        let hours: f64 = line
            .lots
            .iter()
            .map(|l| {
                let s = inputs.suppliers.iter().find(|s| s.siret.as_str() == l.supplier).expect("member");
                l.quantity * s.insertion_rate.unwrap_or(rates[&s.kind])
            })
            .sum();
        let c = line.clause.as_ref().expect("a clause");
        assert!(close(c.target, want) && close(c.projected, hours), "{}: {c:?} vs {hours}", line.id);
        assert!(close(c.gap, (want - hours).max(0.0)), "{}", line.id);
        target += want;
        projected += hours;
        gap += (want - hours).max(0.0);
    }
    assert!(close(p.clauses.target, target) && close(p.clauses.projected, projected) && close(p.clauses.gap, gap));
    assert!(p.clauses.gap > 0.0 || projected >= target);
}

#[test]
fn a_line_covered_in_part_is_marked_or_left_out_as_the_facilitator_chose() {
    let inputs = inputs().expect("inputs");
    let marked = with_bid(&inputs, &BidSettings { partial_lines: PartialLines::Mark, ..BidSettings::default() });
    let partial: Vec<&str> = marked.lines.iter().filter(|l| l.partial).map(|l| l.id.as_str()).collect();
    // L1: 700 of 1 000 h; L3: 100 of 400 kg. L2 is covered in full.
    assert_eq!(partial, vec!["L1", "L3"]);
    assert!(marked.has_partial_lines());
    assert!(html::render(&marked).contains("offre partielle"));

    let omitted = with_bid(&inputs, &BidSettings { partial_lines: PartialLines::Omit, ..BidSettings::default() });
    let left_out: Vec<&str> = omitted.lines.iter().filter(|l| l.omitted).map(|l| l.id.as_str()).collect();
    assert_eq!(left_out, vec!["L1", "L3"]);
    assert!(omitted.lines.iter().filter(|l| l.omitted).all(|l| l.lots.is_empty() && l.amount.is_none()));
    let l2: f64 = marked.lines[1].lots.iter().filter_map(|l| l.amount).sum();
    assert!(close(omitted.totals.amount.expect("L2 is priced"), l2), "only L2 is offered");
    assert_eq!(omitted.totals.lots, marked.lines[1].lots.len());
    for id in ["L1", "L3"] {
        let s = omitted.shortfall.iter().find(|s| s.line == id).expect("stated as not offered");
        let line = omitted.lines.iter().find(|l| l.id == id).expect("line");
        assert_eq!(s.quantity, line.quantity, "the whole line is not offered");
        assert!(s.reason.contains("non offerte"), "{}", s.reason);
    }
    // A member that held lots only on left-out lines is not in the bid.
    assert!(omitted.members.iter().all(|m| m.lead || omitted.lots().any(|l| l.supplier == m.siret)));
}

#[test]
fn the_offer_is_valid_for_the_configured_days_and_dated_in_the_campaigns_time_zone() {
    let inputs = inputs().expect("inputs");
    let bid = BidSettings { validity_days: 90, time_zone: chrono_tz::America::Martinique, ..BidSettings::default() };
    let p = with_bid(&inputs, &bid);
    assert_eq!(p.validity_days, 90);
    assert_eq!(p.valid_until, p.generated_at + chrono::Duration::days(90));
    assert_eq!(p.time_zone, "America/Martinique");
    // Generated on 2 December 2026 at 17:00 UTC: 13:00 in Martinique (UTC−4).
    let page = html::render(&p);
    assert!(page.contains("13:00") || page.contains("13 h 00"), "local time on the page");
    assert!(!page.contains("17:00"), "not UTC");
}

#[test]
fn the_buyer_never_sees_a_chat_account() {
    let inputs = inputs().expect("inputs");
    let p = with_bid(&inputs, &BidSettings::default());
    let json = serde_json::to_string(&p).expect("JSON");
    let page = html::render(&p);
    assert!(!json.contains("user_id") && !json.contains("chat_id"));
    // The example's accounts: Telegram 1001, 2001, 2002; Discord 3001, 3002.
    for account in ["1001", "2001", "2002", "3001", "3002"] {
        assert!(!json.contains(&format!("\"{account}\"")), "account {account} in the JSON");
        assert!(!page.contains(account), "account {account} on the page");
    }
    // The person who confirmed is named, for the structure.
    assert!(page.contains("Nadia Benali") && page.contains("Élodie"));
}
