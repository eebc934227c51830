//! A small fictional proposal, built through the real domain constructors and campaign events: for the
//! renderers' tests, the documentation and previews. Four structures around Lyon, three lines (two
//! priced), one partial acceptance, one decline and a shortfall on laundry.

use chrono::{DateTime, TimeZone, Utc};

use crate::{
    Actor, Answer, Buyer, Campaign, CampaignEvent, GeoPoint, Groupement, GroupementCode, ImpactSettings, Lang,
    ReadyCause, Sector, ShortfallCause, Siret, Supplier, SupplierKind, Tender, TenderLine, TenderRef, Uncovered,
    Window,
};

use super::{GroupementKind, Proposal, ProposalInput};

/// Everything the example proposal is built from, for tests that want to change one part.
pub struct ExampleInputs {
    pub tender: Tender,
    pub groupement: Groupement,
    pub suppliers: Vec<Supplier>,
    pub events: Vec<CampaignEvent>,
}

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, minute, 0).single().unwrap_or_default()
}

fn phone(channel: &str, user: &str, name: &str) -> Actor {
    Actor { channel: channel.into(), user_id: user.into(), chat_id: Some(user.into()), name: Some(name.into()) }
}

/// The inputs of the example. Every value is a valid constant, so construction cannot fail; a failure
/// would be a bug in this file, caught by its tests.
pub fn inputs() -> Result<ExampleInputs, crate::DomainError> {
    let siret = |s: &str| Siret::parse(s);
    let point = GeoPoint::new;
    let sector = |s: &str| Sector::parse("sector", s);
    let supplier = |s: &str, name: &str, kind, loc: GeoPoint, commune: &str, caps: &[(&str, f64)]| {
        let capacities = caps.iter().map(|(k, q)| Ok((sector(k)?, *q))).collect::<Result<_, crate::DomainError>>()?;
        let mut supplier = Supplier::new(siret(s)?, name, kind, loc, 35.0, 20.0, capacities, None)?;
        supplier.commune = Some(commune.into());
        Ok::<_, crate::DomainError>(supplier)
    };
    let suppliers = vec![
        supplier(
            "76694666900070",
            "Propreté Solidaire Lyonnaise",
            SupplierKind::Ei,
            point(45.7380, 4.8390)?,
            "Lyon 7e",
            &[("nettoyage", 800.0)],
        )?,
        supplier(
            "61372090300079",
            "Intérim Passerelle Lyon",
            SupplierKind::Etti,
            point(45.7370, 4.8720)?,
            "Lyon 8e",
            &[("nettoyage", 300.0)],
        )?,
        supplier(
            "21017535200025",
            "ESAT Les Ateliers du Rhône",
            SupplierKind::Esat,
            point(45.7121, 4.8558)?,
            "Saint-Fons",
            &[("espaces_verts", 400.0), ("blanchisserie", 100.0)],
        )?,
        supplier(
            "31214510500093",
            "Tremplin Vert ACI",
            SupplierKind::Aci,
            point(45.7820, 4.9230)?,
            "Vaulx-en-Velin",
            &[("espaces_verts", 300.0)],
        )?,
    ];
    let mut l1 = TenderLine::new(
        "lines[0]",
        "L1",
        sector("nettoyage")?,
        1000.0,
        "h",
        point(45.7606, 4.8596)?,
        Some(0.7),
        Some(27.5),
    )?;
    l1.title = Some("Nettoyage des locaux — site Part-Dieu".into());
    let mut l2 = TenderLine::new(
        "lines[1]",
        "L2",
        sector("espaces_verts")?,
        500.0,
        "h",
        point(45.7485, 4.8467)?,
        None,
        Some(31.0),
    )?;
    l2.title = Some("Entretien des espaces verts — parc de Gerland".into());
    l2.window = Some(Window::new(
        chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default(),
        chrono::NaiveDate::from_ymd_opt(2027, 10, 31).unwrap_or_default(),
        "lines[1].window",
    )?);
    let mut l3 = TenderLine::new(
        "lines[2]",
        "L3",
        sector("blanchisserie")?,
        400.0,
        "kg",
        point(45.7606, 4.8596)?,
        None,
        Some(3.2),
    )?;
    l3.title = Some("Blanchisserie des tenues".into());
    let tender = Tender::new(
        TenderRef::parse("ref", "T-2026-014")?,
        "Entretien et services aux bâtiments métropolitains (fictif)",
        Buyer::named("Métropole de Lyon (fictif)", Some(siret("15543739500017")?)),
        chrono::DateTime::parse_from_rfc3339("2026-12-15T18:00:00+01:00").ok(),
        Some(GroupementCode::parse("groupement", "G-LYON")?),
        vec![l1, l2, l3],
    )?;
    let groupement = Groupement::new(
        GroupementCode::parse("groupement", "G-LYON")?,
        "Groupement inclusif de l'agglomération lyonnaise",
        siret("76694666900070")?,
        suppliers.iter().map(|s| s.siret.clone()).collect(),
    )?;

    let facilitator = phone("telegram", "1001", "Claire (facilitatrice)");
    let launched = Campaign::launch(facilitator, at(1, 9, 0), at(8, 9, 0));
    let d = |i: usize, line: usize| {
        crate::round_quantity(crate::haversine_km(suppliers[i].location, tender.lines[line].site))
    };
    let round1 = vec![
        ("L1".to_string(), suppliers[0].siret.to_string(), 700.0, d(0, 0)),
        ("L1".to_string(), suppliers[1].siret.to_string(), 300.0, d(1, 0)),
        ("L2".to_string(), suppliers[2].siret.to_string(), 300.0, d(2, 1)),
        ("L2".to_string(), suppliers[3].siret.to_string(), 200.0, d(3, 1)),
        ("L3".to_string(), suppliers[2].siret.to_string(), 100.0, d(2, 2)),
    ];
    let laundry_short = Uncovered {
        line: "L3".into(),
        quantity: 300.0,
        reason: "capacity exhausted".into(),
        causes: vec![ShortfallCause::CapacityExhausted {
            suppliers: vec![suppliers[2].siret.to_string()],
            sector: "blanchisserie".into(),
        }],
    };
    let mut events = vec![launched];
    let replay = |events: &[CampaignEvent]| {
        Campaign::replay(tender.reference.clone(), events)
            .ok()
            .flatten()
            .ok_or_else(|| crate::DomainError::invalid("example", "the example campaign does not replay"))
    };
    let c = replay(&events)?;
    events.push(c.offers_made(&round1, vec![laundry_short.clone()], |_| 20.0, at(1, 9, 0), at(3, 9, 0)));
    let answers = [
        (1, 0, Answer::Accept, phone("telegram", "2001", "Nadia Benali"), at(1, 10, 12)),
        (2, 1, Answer::Decline { reason: None }, phone("discord", "3001", "Marc"), at(1, 11, 40)),
        (3, 2, Answer::AcceptPart { quantity: 250.0 }, phone("discord", "3002", "Élodie"), at(1, 14, 5)),
        (4, 3, Answer::Accept, phone("telegram", "2002", "Yanis"), at(2, 8, 30)),
        (5, 2, Answer::Accept, phone("discord", "3002", "Élodie"), at(2, 8, 45)),
    ];
    for (offer, who, answer, by, when) in answers {
        let c = replay(&events)?;
        let event = c
            .answer(offer, suppliers[who].siret.as_str(), answer, by, when)
            .map_err(|e| crate::DomainError::invalid("example", e.to_string()))?;
        events.push(event);
    }
    // Reallocation: L1's declined 300 h go to the first structure up to its share cap (700 h); L2's
    // 50 h back to the ACI.
    let c = replay(&events)?;
    // Only the new lot becomes an offer: the held ones stay as they are.
    let round2 = vec![("L2".to_string(), suppliers[3].siret.to_string(), 50.0, d(3, 1))];
    let l1_short = Uncovered {
        line: "L1".into(),
        quantity: 300.0,
        reason: "max share reached".into(),
        causes: vec![ShortfallCause::MaxShareReached {
            suppliers: vec![suppliers[0].siret.to_string()],
            percent: 70.0,
        }],
    };
    events.push(c.offers_made(&round2, vec![l1_short, laundry_short], |_| 20.0, at(2, 9, 0), at(4, 9, 0)));
    let c = replay(&events)?;
    let event = c
        .answer(6, suppliers[3].siret.as_str(), Answer::Accept, phone("telegram", "2002", "Yanis"), at(2, 16, 20))
        .map_err(|e| crate::DomainError::invalid("example", e.to_string()))?;
    events.push(event);
    events.push(CampaignEvent::Ready { at: at(2, 16, 20), cause: ReadyCause::AllAnswered });
    Ok(ExampleInputs { tender, groupement, suppliers, events })
}

/// When the example proposal is generated: after the campaign closed.
pub fn generated_at() -> DateTime<Utc> {
    at(2, 17, 0)
}

impl ExampleInputs {
    /// The proposal of these inputs after `events` (a prefix of [`ExampleInputs::events`] gives a
    /// draft), with or without the groupement, with the default impact settings.
    pub fn proposal(
        &self,
        events: &[CampaignEvent],
        groupement: bool,
        groupement_kind: GroupementKind,
        generated_at: DateTime<Utc>,
        lang: Lang,
    ) -> Result<Proposal, String> {
        self.proposal_with(events, groupement, groupement_kind, generated_at, lang, &super::BidSettings::default())
    }

    /// [`Self::proposal`] with given bid settings (VAT, validity, labour shares, partial lines).
    pub fn proposal_with(
        &self,
        events: &[CampaignEvent],
        groupement: bool,
        groupement_kind: GroupementKind,
        generated_at: DateTime<Utc>,
        lang: Lang,
        bid: &super::BidSettings,
    ) -> Result<Proposal, String> {
        let campaign = Campaign::replay(self.tender.reference.clone(), events)
            .map_err(|e| e.to_string())?
            .ok_or("empty campaign")?;
        Proposal::build(&ProposalInput {
            tender: &self.tender,
            groupement: groupement.then_some(&self.groupement),
            suppliers: &self.suppliers,
            campaign: &campaign,
            impact: &ImpactSettings::default(),
            bid,
            groupement_kind,
            generated_at,
            lang,
        })
        .map_err(|e| e.to_string())
    }
}

/// The example proposal in `lang`.
pub fn example(lang: Lang) -> Result<Proposal, String> {
    let inputs = inputs().map_err(|e| e.to_string())?;
    inputs.proposal(&inputs.events, true, GroupementKind::Conjoint, generated_at(), lang)
}

/// A large fictional bid for benchmarks and rendering checks: one groupement of `members` structures
/// around Lyon (every kind in turn, a third with their own price, each with an address), one public
/// buyer with its OETH figures, `lines` cleaning lines open to both ways of taking part, and every member
/// holding one accepted lot on each line. Built through the domain constructors and campaign events,
/// like the example.
pub fn synthetic(members: usize, lines: usize) -> Result<ExampleInputs, crate::DomainError> {
    let sector = Sector::parse("sector", "nettoyage")?;
    let places = ["Villeurbanne", "Vénissieux", "Saint-Priest", "Bron", "Oullins", "Caluire-et-Cuire", "Givors"];
    // Sites spread over the Métropole, members around them: a deterministic pseudo-random walk.
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut tender_lines = Vec::with_capacity(lines);
    for l in 0..lines {
        let site = GeoPoint::new(45.65 + 0.25 * next(), 4.70 + 0.35 * next())?;
        let mut line = TenderLine::new(
            "lines",
            &format!("L{}", l + 1),
            sector.clone(),
            10.0 * members as f64,
            "h",
            site,
            None,
            Some(27.5),
        )?
        .with_participation(
            "participation",
            &[crate::ParticipationMode::Execution, crate::ParticipationMode::MiseADisposition],
        )?;
        line.title = Some(format!("Nettoyage — site {} n° {}", places[l % places.len()], l + 1));
        line.address = Some(format!("{} avenue du Site, {}", l + 1, places[l % places.len()]));
        tender_lines.push(line);
    }
    let mut suppliers = Vec::with_capacity(members);
    for i in 0..members {
        let at = GeoPoint::new(45.55 + 0.45 * next(), 4.55 + 0.65 * next())?;
        let kind = SupplierKind::ALL[i % SupplierKind::ALL.len()];
        let capacities = [(sector.clone(), 10.0 * lines as f64)].into_iter().collect();
        let place = places[(i * 5) % places.len()];
        let mut s =
            Supplier::new(synthetic_siret(i)?, &format!("{kind} {place} {i}"), kind, at, 100.0, 1.0, capacities, None)?;
        s.address = Some(format!("{} rue de l'Exemple, {place}", i + 1));
        if i % 3 == 0 {
            s.prices.insert(sector.clone(), 25.0 + (i % 7) as f64 * 0.5);
        }
        suppliers.push(s);
    }
    let reference = TenderRef::parse("ref", "T-SYNTH")?;
    let mut buyer = Buyer::named("Acheteur public (fictif)", Some(Siret::parse("15543739500017")?));
    buyer.kind = Some(crate::BuyerKind::Public);
    buyer.oeth_contribution = Some(250_000.0);
    buyer.direct_employment_rate = Some(0.025);
    let code = GroupementCode::parse("groupement", "G-SYNTH")?;
    let mut tender =
        Tender::new(reference.clone(), "Marché synthétique (fictif)", buyer, None, Some(code.clone()), tender_lines)?;
    tender.mandataire_solidaire = true;
    let lead = suppliers
        .first()
        .map(|s| s.siret.clone())
        .ok_or_else(|| crate::DomainError::invalid("members", "at least one"))?;
    let groupement =
        Groupement::new(code, "Groupement synthétique", lead, suppliers.iter().map(|s| s.siret.clone()).collect())?;

    let start = at(1, 9, 0);
    let facilitator = phone("telegram", "1", "Facilitatrice");
    let mut events = vec![Campaign::launch(facilitator, start, at(8, 9, 0))];
    let replay = |events: &[CampaignEvent]| {
        Campaign::replay(reference.clone(), events)
            .ok()
            .flatten()
            .ok_or_else(|| crate::DomainError::invalid("synthetic", "the campaign does not replay"))
    };
    let lots: Vec<(String, String, f64, f64)> = tender
        .lines
        .iter()
        .flat_map(|l| {
            suppliers.iter().map(move |s| {
                (
                    l.id.clone(),
                    s.siret.to_string(),
                    10.0,
                    crate::round_quantity(crate::haversine_km(s.location, l.site)),
                )
            })
        })
        .collect();
    events.push(replay(&events)?.offers_made(&lots, vec![], |_| 1.0, start, at(3, 9, 0)));
    let mut campaign = replay(&events)?;
    let offers: Vec<(u32, String)> = campaign.offers.values().map(|o| (o.terms.id, o.terms.supplier.clone())).collect();
    for (id, supplier) in offers {
        // One person answers for each structure, from its one phone.
        let member = suppliers.iter().position(|s| s.siret.as_str() == supplier).unwrap_or_default();
        let by = phone("telegram", &format!("{}", 1000 + member), &format!("Contact {member}"));
        let event = campaign
            .answer(id, &supplier, Answer::Accept, by, at(1, 12, 0))
            .map_err(|e| crate::DomainError::invalid("synthetic", e.to_string()))?;
        campaign.apply(&event).map_err(|e| crate::DomainError::invalid("synthetic", e.to_string()))?;
        events.push(event);
    }
    events.push(CampaignEvent::Ready { at: at(1, 12, 0), cause: ReadyCause::AllAnswered });
    Ok(ExampleInputs { tender, groupement, suppliers, events })
}

/// A valid SIRET from a 13-digit body (the Luhn check digit appended).
fn synthetic_siret(n: usize) -> Result<Siret, crate::DomainError> {
    let body = format!("{:013}", 100_000_000_000 + n as u64 * 7);
    (0..10)
        .find_map(|check| Siret::parse(&format!("{body}{check}")).ok())
        .ok_or_else(|| crate::DomainError::invalid("siret", "no check digit fits"))
}
