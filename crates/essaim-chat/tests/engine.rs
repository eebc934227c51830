//! The conversation engine as users see it: what they send, what is queued back to them, what the
//! campaign records. On every backend (SQLite always, PostgreSQL when ESSAIM_TEST_POSTGRES_URL is set).

mod common;

use chrono::{DateTime, Duration, Utc};
use essaim_chat::{IncomingKind, Outgoing};
use essaim_core::{
    Buyer, Capacities, GeoPoint, Groupement, GroupementCode, Supplier, SupplierKind, Tender, TenderLine, TenderRef,
};
use essaim_store::Store;
use essaim_store::testing::with_each_backend;

use common::{Phone, button_data, sector, siret};

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const C: &str = "30000000000004";

/// The buyer of T-1 (Ville test).
const BUYER: &str = "15543739500017";

fn supplier(s: &str, name: &str, lat: f64) -> Supplier {
    let capacities: Capacities = [(sector("nettoyage"), 60.0)].into_iter().collect();
    let at = GeoPoint::new(lat, 4.85).expect("point");
    Supplier::new(siret(s), name, SupplierKind::Ei, at, 40.0, 10.0, capacities, None).expect("supplier")
}

/// A at 1 km from the site, B at 5 km, C at 10 km; the line (100 h, at most 60 % each) goes to A and B.
async fn territory(store: &Store) {
    let suppliers =
        vec![supplier(A, "Atelier A", 45.759), supplier(B, "Brigade B", 45.795), supplier(C, "Chantier C", 45.84)];
    let g = Groupement::new(
        GroupementCode::parse("g", "G-TEST").expect("code"),
        "Groupement test",
        siret(A),
        vec![siret(A), siret(B), siret(C)],
    )
    .expect("groupement");
    store.import_directory(&suppliers, &[g]).await.expect("directory");
    let mut line = TenderLine::new(
        "lines[0]",
        "L1",
        sector("nettoyage"),
        100.0,
        "h",
        GeoPoint::new(45.75, 4.85).expect("site"),
        Some(0.6),
        None,
    )
    .expect("line");
    line.title = Some("Nettoyage des bureaux".into());
    let tender = Tender::new(
        TenderRef::parse("ref", "T-1").expect("ref"),
        "Marché test",
        Buyer::named("Ville test", Some(siret(BUYER))),
        None,
        Some(GroupementCode::parse("g", "G-TEST").expect("code")),
        vec![line],
    )
    .expect("tender");
    store.insert_tender(&tender).await.expect("tender");
}

async fn linked_campaign(phone: &Phone) {
    territory(phone.engine.store()).await;
    phone.invite("FAC1", None).await;
    for (code, s) in [("SUPA", A), ("SUPB", B), ("SUPC", C)] {
        phone.invite(code, Some(s)).await;
    }
    phone.send("fac", "/start FAC1").await;
    phone.send("a", "/start SUPA").await;
    phone.send("b", "/start SUPB").await;
    phone.send("c", "/start SUPC").await;
}

#[tokio::test]
async fn strangers_and_suppliers_cannot_do_what_facilitators_do() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        territory(phone.engine.store()).await;
        phone.send("x", "/repartir T-1").await;
        assert!(phone.last_to("x").await.contains("/start CODE"), "an unlinked user is told how to link");
        phone.send("x", "/start NOPE").await;
        assert!(phone.last_to("x").await.contains("n'est pas valable"));
        phone.invite("SUPA", Some(A)).await;
        phone.send("a", "/start SUPA").await;
        assert!(phone.last_to("a").await.contains("Atelier A"));
        phone.send("intruder", "/start SUPA").await;
        assert!(phone.last_to("intruder").await.contains("n'est pas valable"), "an invite is used once");
        phone.send("a", "/repartir T-1").await;
        assert!(phone.last_to("a").await.contains("réservée aux facilitateurs"));
        phone.send("a", "/frobnicate").await;
        let help = phone.last_to("a").await;
        assert!(help.contains("Commande inconnue") && help.contains("/mes_lots"), "{help}");
        assert!(
            phone.engine.store().campaign_log(&TenderRef::parse("r", "T-1").expect("ref")).await?.events.is_empty()
        );
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_campaign_from_launch_to_ready_with_part_decline_and_stale_presses() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let launched = phone.last_to("fac").await;
        assert!(launched.contains("Campagne T-1 lancée : 2 offre(s)"), "{launched}");

        let offer_a = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("A has an offer");
        assert!(offer_a.text.contains("60 h") && offer_a.text.contains("Nettoyage des bureaux"), "{}", offer_a.text);
        let offer_b = phone.to("b").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("B has an offer");
        assert!(offer_b.text.contains("40 h"), "{}", offer_b.text);
        assert!(phone.to("c").await.iter().all(|m| m.buttons.is_empty()), "C is not asked yet");

        // A accepts; the same delivery again changes nothing; a later press on the same button is stale.
        let accept_a = phone.incoming(
            "a",
            IncomingKind::Button { data: button_data(&offer_a, "Accepter"), message_id: Some("5".into()) },
        );
        let first = phone.engine.handle(&accept_a).await.expect("handled");
        assert_eq!(first.notice.as_deref(), Some("C'est noté."));
        let queued = phone.outbox().await.len();
        let again = phone.engine.handle(&accept_a).await.expect("handled");
        assert!(again.duplicate);
        assert_eq!(phone.outbox().await.len(), queued, "a duplicate delivery queues nothing");
        let stale = phone.press("a", &button_data(&offer_a, "Accepter")).await;
        assert_eq!(stale.notice.as_deref(), Some("Cette offre n'est plus ouverte."));
        let edited =
            phone.to("a").await.into_iter().rfind(|m| m.edit_message_id.as_deref() == Some("5")).expect("offer edited");
        assert!(edited.text.contains("✅ Accepté : 60 h") && edited.buttons.is_empty(), "{}", edited.text);

        // B presses on A's offer: refused, nothing recorded.
        let foreign = phone.press("b", &button_data(&offer_a, "Refuser")).await;
        assert!(
            foreign.notice.as_deref().is_some_and(|n| n.contains("n'est plus ouverte") || n.contains("pas adressée"))
        );

        // B accepts part: asked for a quantity, a wrong answer is explained, 20 is taken.
        phone.press("b", &button_data(&offer_b, "Accepter une partie")).await;
        assert!(phone.last_to("b").await.contains("entre 10 et 40"));
        phone.send("b", "beaucoup").await;
        assert!(phone.last_to("b").await.contains("Quantité non valable"));
        phone.send("b", "5").await;
        assert!(phone.last_to("b").await.contains("Quantité non valable"), "below the min lot");
        phone.send("b", "20").await;
        assert!(phone.to("b").await.iter().any(|m| m.text.contains("Accepté en partie : 20 h sur 40")));

        // The 20 h left go to C, the only one not yet holding part of the line.
        let offer_c = phone.to("c").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("C gets the rest");
        assert!(offer_c.text.contains("20 h"), "{}", offer_c.text);
        let notes = phone.to("fac").await.iter().map(|m| m.text.clone()).collect::<Vec<_>>().join("\n");
        assert!(notes.contains("Brigade B accepte 20 h sur 40"), "{notes}");
        assert!(notes.contains("1 nouvelle(s) offre(s)"), "{notes}");

        // C declines: nobody is left, the campaign is ready with 20 h uncovered. The refusal is recorded
        // at once; its message then asks why, and the reason pressed reaches the facilitator and /etat.
        phone.press_on("c", &button_data(&offer_c, "Refuser"), "9").await;
        let fac = phone.to("fac").await.iter().map(|m| m.text.clone()).collect::<Vec<_>>().join("\n");
        assert!(fac.contains("Chantier C refuse"), "{fac}");
        assert!(fac.contains("Campagne T-1 terminée"), "{fac}");
        let asked =
            phone.to("c").await.into_iter().rfind(|m| m.edit_message_id.as_deref() == Some("9")).expect("edited");
        assert!(asked.text.contains("❌ Refusé") && asked.text.contains("Pourquoi ?"), "{}", asked.text);
        let far = button_data(&asked, "Site trop loin");
        let foreign = phone.press_on("a", &far, "9").await;
        assert!(
            foreign.notice.as_deref().is_some_and(|n| n.contains("pas adressée à votre structure")),
            "A cannot explain C's refusal: {:?}",
            foreign.notice
        );
        phone.press_on("c", &far, "9").await;
        let explained = phone.last_to("fac").await;
        assert!(explained.contains("💬 Chantier C précise son refus") && explained.contains("distance"), "{explained}");
        let again = phone.press_on("c", &button_data(&asked, "Prix trop bas"), "9").await;
        assert_eq!(again.notice.as_deref(), Some("Cette offre n'est plus ouverte."), "a reason is given once");
        phone.send("fac", "/etat T-1").await;
        let status = phone.last_to("fac").await;
        assert!(status.contains("✅ 80 acceptées") && status.contains("⚠️ 20 non couvertes"), "{status}");
        assert!(status.contains("Refus : Chantier C (distance)"), "{status}");

        // A late press on a closed campaign changes nothing.
        let late = phone.press("b", &button_data(&offer_b, "Accepter")).await;
        assert!(late.notice.is_some());
        let log = phone.engine.store().campaign_log(&TenderRef::parse("r", "T-1").expect("ref")).await?;
        let kinds: Vec<&str> = log.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "launched",
                "offers_made",
                "answered",
                "answered",
                "offers_made",
                "answered",
                "offers_made",
                "ready",
                "decline_explained"
            ]
        );
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn members_shows_how_each_structure_is_reached_and_the_launch_note_only_the_unreachable() {
    with_each_backend(|store| async move {
        let mut settings = common::settings();
        settings.email = true;
        let phone = Phone::with_settings(store, settings);
        territory(phone.engine.store()).await;
        // A is on Telegram, B only has an address in the directory, C has neither.
        let mut b = supplier(B, "Brigade B", 45.795);
        b.contact.email = Some("direction@brigade-b.example".into());
        phone.engine.store().import_directory(&[b], &[]).await?;
        phone.invite("FAC1", None).await;
        phone.invite("SUPA", Some(A)).await;
        phone.send("fac", "/start FAC1").await;
        phone.send("a", "/start SUPA").await;

        phone.send("a", "/membres T-1").await;
        assert!(phone.last_to("a").await.contains("réservée aux facilitateurs"), "{}", phone.last_to("a").await);
        phone.send("fac", "/membres T-1").await;
        let members = phone.last_to("fac").await;
        assert!(members.contains("• Atelier A (EI) — ✅ Telegram"), "{members}");
        assert!(members.contains("• Brigade B (EI) — ✅ courriel (direction@brigade-b.example)"), "{members}");
        assert!(members.contains("• Chantier C (EI) — ⚠️ injoignable"), "{members}");
        assert!(members.contains("1 injoignable(s)"), "{members}");
        phone.engine.store().set_reminder_mail("direction@brigade-b.example", false).await?;
        phone.send("fac", "/members T-1").await;
        assert!(phone.last_to("fac").await.contains("sans relances"));

        // A and B get offers; B's goes by mail, so the launch note names nobody as unreachable.
        phone.send("fac", "/repartir T-1").await;
        let launched = phone.last_to("fac").await;
        assert!(launched.contains("2 offre(s) envoyée(s) à 2 structure(s)"), "{launched}");
        assert!(!launched.contains("Sans compte relié"), "{launched}");
        let mailed = phone.to("direction@brigade-b.example").await;
        assert!(mailed.iter().any(|m| m.platform == essaim_chat::Platform::Email && !m.buttons.is_empty()));
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_groupement_is_invited_by_mail_and_an_invited_structure_links_its_phone_with_the_code() {
    with_each_backend(|store| async move {
        let mut settings = common::settings();
        settings.email = true;
        let phone = Phone::with_settings(store, settings);
        territory(phone.engine.store()).await;
        let mut b = supplier(B, "Brigade B", 45.795);
        b.contact.email = Some("direction@brigade-b.example".into());
        phone.engine.store().import_directory(&[b], &[]).await?;
        phone.invite("FAC1", None).await;
        phone.invite("SUPA", Some(A)).await;
        phone.send("fac", "/start FAC1").await;
        phone.send("a", "/start SUPA").await;

        phone.send("a", "/inviter_tous G-TEST").await;
        assert!(phone.last_to("a").await.contains("réservée aux facilitateurs"));
        phone.send("fac", "/inviter_tous G-NOPE").await;
        assert!(phone.last_to("fac").await.contains("Groupement inconnu"));
        phone.send("fac", "/inviter_tous G-TEST").await;
        let done = phone.last_to("fac").await;
        assert!(done.contains("1 invitation(s) envoyée(s) par courriel, 1 structure(s) déjà reliée(s)"), "{done}");
        assert!(done.contains("Sans adresse dans l'annuaire : Chantier C"), "{done}");
        let mail = phone.to("direction@brigade-b.example").await.pop().expect("B's invitation");
        assert_eq!(mail.platform, essaim_chat::Platform::Email);
        assert!(mail.text.contains("Rester par courriel : rien à faire"), "{}", mail.text);
        let code = mail
            .text
            .split("« /start ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .expect("a code in the mail")
            .to_owned();
        // Its director links Telegram with it: B is then reached there.
        phone.send("b", &format!("/start {code}")).await;
        phone.send("fac", "/membres T-1").await;
        assert!(
            phone.last_to("fac").await.contains("• Brigade B (EI) — ✅ Telegram"),
            "{}",
            phone.last_to("fac").await
        );
        phone.send("c", &format!("/start {code}")).await;
        assert!(!phone.last_to("c").await.contains("Bienvenue"), "a code works once");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn an_accepted_lot_is_given_back_when_the_facilitator_confirms_and_is_reallocated() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let offer_a = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("A has an offer");
        let id: String = button_data(&offer_a, "Accepter").split(':').nth(1).expect("offer id").to_owned();
        phone.send("a", &format!("/retirer T-1 {id} trop tôt")).await;
        assert!(
            phone.last_to("a").await.contains("n'est pas un lot accepté"),
            "an open offer is declined, not withdrawn"
        );
        phone.press("a", &button_data(&offer_a, "Accepter")).await;

        phone.send("a", &format!("/retirer T-1 {id} véhicule en panne")).await;
        assert!(phone.last_to("a").await.contains("transmise au facilitateur"), "{}", phone.last_to("a").await);
        let asked =
            phone.to("fac").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("the facilitator is asked");
        assert!(
            asked.text.contains("Atelier A demande à retirer le lot") && asked.text.contains("véhicule en panne"),
            "{}",
            asked.text
        );
        let confirm = button_data(&asked, "Confirmer le retrait");
        let stranger = phone.press_on("b", &confirm, "12").await;
        assert!(stranger.notice.is_some_and(|n| n.contains("réservée aux facilitateurs")));

        phone.press_on("fac", &confirm, "12").await;
        assert!(
            phone.last_to("a").await.contains("Retrait du lot n° ") && phone.last_to("a").await.contains("confirmé")
        );
        let decided =
            phone.to("fac").await.into_iter().rfind(|m| m.edit_message_id.as_deref() == Some("12")).expect("edited");
        assert!(decided.text.contains("confirmé") && decided.buttons.is_empty(), "{}", decided.text);
        // The 60 h A gave back are offered again (A excluded): to C, and B may take more within its share.
        assert!(decided.text.contains("Réaffectation"), "{}", decided.text);
        let offer_c =
            phone.to("c").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("C gets part of what A gave back");
        assert!(offer_c.text.contains("Nettoyage des bureaux (L1)"), "{}", offer_c.text);
        let again = phone.press_on("fac", &confirm, "12").await;
        assert_eq!(again.notice.as_deref(), Some("Cette offre n'est plus ouverte."), "a second press changes nothing");
        let log = phone.engine.store().campaign_log(&TenderRef::parse("r", "T-1").expect("ref")).await?;
        let kinds: Vec<&str> = log.events.iter().map(|e| e.kind.as_str()).collect();
        assert!(kinds.ends_with(&["withdrawal_asked", "withdrawal_settled", "offers_made"]), "{kinds:?}");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_person_who_asks_to_be_forgotten_is_erased_and_the_commitment_stays_the_structures() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let offer_a = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("A has an offer");
        phone.press("a", &button_data(&offer_a, "Accepter")).await;

        phone.send("a", "/oublier").await;
        let question = phone.to("a").await.pop().expect("asked");
        assert!(
            question.text.contains("effacer vos données") && question.text.contains("Atelier A"),
            "{}",
            question.text
        );
        let erase = button_data(&question, "Oui, effacer mes données");
        let keep = button_data(&question, "Non, garder ce compte");
        // Not before the press, not by someone else's press, not when the person keeps the account.
        assert!(phone.engine.store().account("telegram", "a").await?.is_some());
        let colleague = phone.press_on("b", &erase, "31").await;
        assert!(colleague.notice.is_some_and(|n| n.contains("autre personne")));
        phone.press_on("a", &keep, "31").await;
        assert!(phone.last_to("a").await.contains("Rien n'a été effacé"));
        assert!(phone.engine.store().account("telegram", "a").await?.is_some());

        phone.send("a", "/oublier").await;
        let question = phone.to("a").await.pop().expect("asked again");
        phone.press_on("a", &button_data(&question, "Oui, effacer mes données"), "32").await;

        assert_eq!(phone.engine.store().account("telegram", "a").await?, None, "unlinked");
        let left = phone.to("a").await;
        assert_eq!(left.len(), 1, "only the confirmation is left for that chat: {left:?}");
        assert!(left[0].text.contains("C'est fait") && left[0].edit_message_id.as_deref() == Some("32"));
        let note = phone.last_to("fac").await;
        assert!(note.contains("Atelier A") && note.contains("délié") && note.contains("/membres"), "{note}");

        // The commitment stands, under a pseudonym; nothing in the log names the person any more.
        let reference = TenderRef::parse("r", "T-1").expect("ref");
        let (_, campaign) = phone.engine.store().campaign(&reference).await?;
        let campaign = campaign.expect("still replays");
        let accepted: Vec<_> = campaign
            .offers
            .values()
            .filter(|o| o.terms.supplier == A && matches!(o.state, essaim_core::OfferState::Accepted { .. }))
            .collect();
        assert_eq!(accepted.len(), 1, "A's accepted lot is still A's");
        for event in phone.engine.store().campaign_log(&reference).await?.events {
            let text = event.payload.to_string();
            assert!(!text.contains(r#""user_id":"a""#) && !text.contains(r#""chat_id":"a""#), "{text}");
        }
        assert!(
            phone
                .engine
                .store()
                .campaign_log(&reference)
                .await?
                .events
                .iter()
                .any(|e| e.payload.to_string().contains(r#""user_id":"anonyme-"#))
        );

        // The old buttons do nothing now: the person is a stranger.
        let before = phone.outbox().await.len();
        let stale = phone.press_on("a", &erase, "31").await;
        assert!(stale.notice.is_some_and(|n| n.contains("/start CODE")));
        assert_eq!(phone.outbox().await.len(), before);
        phone.send("a", "/mes_lots").await;
        assert!(phone.last_to("a").await.contains("/start CODE"), "{}", phone.last_to("a").await);
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_structure_asks_a_question_about_its_offer_and_the_facilitator_answers_it() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let offer_a = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("A has an offer");
        let id: String = button_data(&offer_a, "Accepter").split(':').nth(1).expect("offer id").to_owned();
        let foreign = phone.press("b", &button_data(&offer_a, "Poser une question")).await;
        assert!(foreign.notice.is_some_and(|n| n.contains("pas adressée")), "B cannot ask about A's offer");
        phone.press("a", &button_data(&offer_a, "Poser une question")).await;
        assert!(phone.last_to("a").await.contains("Votre question sur l'offre n°"));
        phone.send("a", "Le matériel est-il fourni ?").await;
        assert!(phone.last_to("a").await.contains("Question transmise"));
        let relayed = phone.last_to("fac").await;
        assert!(
            relayed.contains("❓ Atelier A demande") && relayed.contains("« Le matériel est-il fourni ? »"),
            "{relayed}"
        );
        assert!(relayed.contains(&format!("/repondre T-1 {id}")), "{relayed}");

        phone.send("b", &format!("/repondre T-1 {id} non")).await;
        assert!(phone.last_to("b").await.contains("réservée aux facilitateurs"));
        phone.send("fac", &format!("/repondre T-1 {id} Oui, autolaveuse fournie sur site")).await;
        assert!(phone.last_to("fac").await.contains("Réponse transmise à Atelier A"));
        let answer = phone.last_to("a").await;
        assert!(answer.contains("💬 Réponse du facilitateur") && answer.contains("autolaveuse fournie"), "{answer}");
        // The offer itself is untouched: A can still accept it.
        let accepted = phone.press("a", &button_data(&offer_a, "Accepter")).await;
        assert_eq!(accepted.notice.as_deref(), Some("C'est noté."));
        let log = phone.engine.store().campaign_log(&TenderRef::parse("r", "T-1").expect("ref")).await?;
        let kinds: Vec<&str> = log.events.iter().map(|e| e.kind.as_str()).collect();
        assert!(kinds.contains(&"question_asked") && kinds.contains(&"question_answered"), "{kinds:?}");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn bidirectional_controls_in_names_and_typed_text_never_reach_a_phone() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        // A directory name and a typed question, each with an override that would turn the words around.
        let renamed = supplier(A, "\u{202e}ENIAL\u{202c} Atelier A", 45.759);
        phone.engine.store().import_directory(&[renamed], &[]).await.expect("renamed");
        phone.send("fac", "/repartir T-1").await;
        let offer_a = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("A has an offer");
        phone.press("a", &button_data(&offer_a, "Poser une question")).await;
        phone.send("a", "Matériel \u{2066}fourni\u{2069} ?").await;
        let relayed = phone.last_to("fac").await;
        assert!(relayed.contains("ENIAL Atelier A demande"), "{relayed}");
        assert!(relayed.contains("« Matériel fourni ? »"), "{relayed}");
        for chat in ["fac", "a", "b", "c"] {
            for message in phone.to(chat).await {
                let shown = std::iter::once(message.text.as_str())
                    .chain(message.buttons.iter().flatten().map(|b| b.label.as_str()));
                for text in shown {
                    assert!(!text.chars().any(essaim_core::is_hidden_control), "{chat}: {text:?}");
                }
            }
        }
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn another_reason_is_asked_in_words_and_stored_with_the_refusal() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let offer_a = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("A has an offer");
        phone.press_on("a", &button_data(&offer_a, "Refuser"), "4").await;
        let asked =
            phone.to("a").await.into_iter().rfind(|m| m.edit_message_id.as_deref() == Some("4")).expect("edited");
        phone.press_on("a", &button_data(&asked, "Autre raison"), "4").await;
        assert!(phone.last_to("a").await.contains("En quelques mots"), "{}", phone.last_to("a").await);
        phone.send("a", "  le site ferme\nle samedi  ").await;
        assert!(phone.last_to("a").await.contains("motif noté : autre — le site ferme le samedi"));
        let tender = TenderRef::parse("r", "T-1").expect("ref");
        let (_, campaign) = phone.engine.store().campaign(&tender).await?;
        let campaign = campaign.expect("campaign");
        let declined = campaign.offers.values().find(|o| o.terms.supplier == A).expect("A's offer");
        assert!(
            matches!(&declined.state, essaim_core::OfferState::Declined { reason: Some(r), .. } if r == "autre — le site ferme le samedi"),
            "{:?}",
            declined.state
        );
        // The next text is no longer taken as a reason.
        phone.send("a", "autre chose").await;
        assert!(!phone.last_to("a").await.contains("motif noté"));
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn expired_offers_are_reallocated_by_the_scheduler_and_reminders_reach_the_silent() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        phone.send("fac", "/relancer T-1").await;
        assert!(phone.last_to("fac").await.contains("2 structure(s) relancée(s)"));
        assert!(phone.to("a").await.iter().any(|m| m.text.starts_with("⏰ Rappel") && !m.buttons.is_empty()));

        // Two days later nobody answered: both offers expire; C alone can take 60 h of the line.
        let later: DateTime<Utc> = Utc::now() + Duration::hours(49);
        let engine = phone.engine.clone().with_clock(move || later);
        let scheduler = essaim_chat::Scheduler::new(engine.clone()).expect("valid schedule");
        assert_eq!(scheduler.tick().await.expect("tick"), 1);
        assert_eq!(scheduler.tick().await.expect("tick"), 0, "nothing more is due");
        let offer_c = phone.to("c").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("C is asked");
        assert!(offer_c.text.contains("60 h"), "{}", offer_c.text);
        let notes = phone.to("fac").await.iter().map(|m| m.text.clone()).collect::<Vec<_>>().join("\n");
        assert!(notes.contains("2 offre(s) sans réponse"), "{notes}");

        // The reminder occurrence missed while nobody ran fires once, however many times it is asked,
        // and does not chase C, whose offer was made after that occurrence.
        assert!(scheduler.remind_if_due().await.expect("reminders"), "the overdue occurrence fires");
        assert!(!scheduler.remind_if_due().await.expect("reminders"), "and only once");
        assert!(
            !phone.to("c").await.iter().any(|m| m.text.starts_with("⏰ Rappel")),
            "C's offer is newer than the occurrence"
        );
        let remind = IncomingKind::Command { name: "relancer".into(), args: vec!["T-1".into()] };
        engine.handle(&phone.incoming("fac", remind)).await.expect("handled");
        assert!(phone.to("c").await.iter().any(|m| m.text.starts_with("⏰ Rappel") && m.text.contains("60 h")));
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_supplier_lists_its_open_offers_with_buttons() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("a", "/mes_lots").await;
        assert!(phone.last_to("a").await.contains("Aucune offre en attente"));
        phone.send("fac", "/repartir T-1").await;
        phone.send("fac", "/repartir T-1").await;
        assert!(phone.last_to("fac").await.contains("déjà lancée"), "a campaign is launched once");
        phone.send("a", "/mes_lots").await;
        let listed = phone.to("a").await;
        let n = listed.len();
        assert!(listed[n - 2].text.contains("1 offre(s) en attente"), "{}", listed[n - 2].text);
        assert!(listed[n - 1].text.contains("60 h") && listed[n - 1].buttons.concat().len() == 4);
        phone.send("fac", "/mes_lots").await;
        assert!(phone.last_to("fac").await.contains("réservée aux structures"));
        phone.send("fac", "/etat T-404").await;
        assert!(phone.last_to("fac").await.contains("Appel inconnu"));
        phone.send("fac", "/etat").await;
        assert!(phone.last_to("fac").await.starts_with("Usage"));
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn capacity_updates_are_checked_and_recorded() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("a", "/capacite nettoyage 75,5").await;
        assert!(phone.last_to("a").await.contains("Nettoyage = 75,5 h"));
        phone.send("a", "/capacite jonglage 10").await;
        assert!(phone.last_to("a").await.contains("Capacité non valable"));
        phone.send("a", "/capacite nettoyage -3").await;
        assert!(phone.last_to("a").await.contains("Capacité non valable"));
        phone.send("fac", "/capacite nettoyage 10").await;
        assert!(phone.last_to("fac").await.contains("réservée aux structures"));
        let a = phone.engine.store().supplier(&siret(A)).await?.expect("A");
        assert_eq!(a.capacity(&sector("nettoyage")), 75.5);
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn english_speakers_get_english() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        territory(phone.engine.store()).await;
        let mut hello = phone.incoming("en-user", IncomingKind::Command { name: "frobnicate".into(), args: vec![] });
        hello.language = Some("en-GB".into());
        phone.engine.handle(&hello).await.expect("handled");
        let reply = phone.last_to("en-user").await;
        assert!(reply.starts_with("Unknown command: /frobnicate") && reply.contains("/start CODE"), "{reply}");

        // A facilitator whose app speaks English gets the campaign's news in English.
        phone.invite("FAC-EN", None).await;
        for (name, args) in [("start", vec!["FAC-EN".to_owned()]), ("allocate", vec!["T-1".to_owned()])] {
            let mut incoming = phone.incoming("en-fac", IncomingKind::Command { name: name.into(), args });
            incoming.language = Some("en".into());
            phone.engine.handle(&incoming).await.expect("handled");
        }
        let launched = phone.last_to("en-fac").await;
        assert!(launched.starts_with("🚀 Campaign T-1 launched: 2 offer(s)"), "{launched}");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_buyer_receives_the_proposal_when_the_campaign_is_ready_and_on_send() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.engine.store().create_buyer_invite("BUY1", &siret(BUYER), None).await?;
        phone.send("buyer", "/start BUY1").await;
        assert!(phone.last_to("buyer").await.contains("proposition du groupement"), "a buyer is told what comes");
        phone.send("buyer", "/appels").await;
        assert!(phone.last_to("buyer").await.contains("T-1"), "the buyer's own tender is listed");

        phone.send("fac", "/envoyer T-1").await;
        assert!(phone.last_to("fac").await.contains("Pas encore de proposition"), "no campaign yet");
        phone.send("a", "/envoyer T-1").await;
        assert!(phone.last_to("a").await.contains("réservée aux facilitateurs"));
        phone.send("buyer", "/envoyer T-1").await;
        assert!(phone.last_to("buyer").await.contains("réservée aux facilitateurs"));
        assert!(phone.to("buyer").await.iter().all(|m| m.document.is_none()), "nothing sent before the campaign");

        // Everyone accepts: the campaign is ready and the buyer receives the proposal, once.
        phone.send("fac", "/repartir T-1").await;
        for user in ["a", "b"] {
            let offer = phone.to(user).await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("an offer");
            phone.press(user, &button_data(&offer, "Accepter")).await;
        }
        let to_buyer: Vec<Outgoing> = phone.to("buyer").await.into_iter().filter(|m| m.document.is_some()).collect();
        assert_eq!(to_buyer.len(), 1, "one proposal on ready");
        let summary = &to_buyer[0].text;
        assert!(summary.contains("Mandataire : Atelier A") && summary.contains("100 / 100 h"), "{summary}");
        assert!(!summary.contains("provisoire"), "{summary}");
        let document = to_buyer[0].document.as_ref().expect("document");
        assert_eq!((document.file_name.as_str(), document.mime_type.as_str()), ("proposition-T-1.html", "text/html"));
        assert!(document.content.contains("Atelier A") && document.content.contains("Brigade B"));
        assert!(document.content.contains("Définitive"), "final once ready");
        let fac = phone.to("fac").await;
        assert!(fac.iter().any(|m| m.text.contains("envoyée à l'acheteur (1 compte(s))")), "the facilitator is told");
        assert!(fac.iter().all(|m| m.document.is_none()), "the buyer got it: the facilitator gets the note only");

        // /envoyer sends it again on demand; the same delivery twice sends it once.
        let send = phone.incoming("fac", IncomingKind::Command { name: "envoyer".into(), args: vec!["T-1".into()] });
        phone.engine.handle(&send).await.expect("handled");
        let again = phone.engine.handle(&send).await.expect("handled");
        assert!(again.duplicate);
        assert_eq!(phone.to("buyer").await.iter().filter(|m| m.document.is_some()).count(), 2);
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn without_a_linked_buyer_the_facilitator_gets_the_proposal_to_pass_on() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let offer = phone.to("a").await.into_iter().rfind(|m| !m.buttons.is_empty()).expect("an offer");
        phone.press("a", &button_data(&offer, "Accepter")).await;
        // A draft on demand: B has not answered yet.
        phone.send("fac", "/envoyer T-1").await;
        let last = phone.to("fac").await.into_iter().last().expect("a message");
        assert!(last.text.contains("Aucun compte acheteur"), "{}", last.text);
        let document = last.document.expect("the page itself");
        assert_eq!(document.file_name, "proposition-T-1-provisoire.html");
        assert!(document.content.contains("Provisoire"), "a draft says so");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

/// Sends every message at once (the retention test needs sent rows, not a platform).
#[derive(Clone)]
struct Delivered;

impl essaim_chat::Sender for Delivered {
    async fn send(&self, key: &str, _message: &Outgoing) -> essaim_chat::SendOutcome {
        essaim_chat::SendOutcome::Sent { message_id: key.to_owned() }
    }
}

#[tokio::test]
async fn delivered_traffic_past_its_retention_is_purged_and_pending_messages_stay() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        territory(&store).await;
        phone.invite("SUPA", Some(A)).await;
        phone.send("a", "/start SUPA").await;
        let dispatcher = essaim_chat::Dispatcher::new(store.clone()).with_sender(
            essaim_chat::Platform::Telegram,
            Delivered,
            essaim_chat::Limits::none(),
        );
        while dispatcher.run_once().await? > 0 {}
        // A message queued for a platform no sender serves stays pending, whatever its age.
        let pending = essaim_store::NewOutgoing {
            key: "pending:1".into(),
            platform: "discord".into(),
            chat_id: "c".into(),
            payload: serde_json::to_value(Outgoing::text(essaim_chat::Platform::Discord, "c", "en attente"))
                .expect("JSON"),
        };
        store.apply(&essaim_store::Changeset { outbox: vec![pending], ..Default::default() }).await?;

        let later = chrono::Utc::now() + Duration::days(31);
        let engine = essaim_chat::Engine::new(store.clone(), common::settings(), std::sync::Arc::default())
            .with_clock(move || later);
        let too_short = essaim_chat::Retention { inbox: Duration::days(3), outbox: Duration::days(90) };
        assert!(essaim_chat::Scheduler::new(engine.clone()).and_then(|s| s.with_retention(too_short)).is_err());
        let retention = essaim_chat::Retention { inbox: Duration::days(30), outbox: Duration::days(30) };
        let scheduler = essaim_chat::Scheduler::new(engine).and_then(|s| s.with_retention(retention)).expect("valid");
        let (inbox, outbox) = scheduler.purge().await.expect("purged");
        assert_eq!((inbox, outbox), (1, 1), "the /start update and its welcome");
        let left = store.outbox().await?;
        assert_eq!(left.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["pending:1"]);
        let events = store.events(essaim_store::RETENTION_STREAM).await?;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].payload["outbox"], 1);
        assert_eq!(scheduler.purge().await.expect("again"), (0, 0), "nothing twice");
        // The account itself is not traffic: it stays linked.
        assert!(store.account("telegram", "a").await?.is_some());
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

/// `user` sends `/name args` where others read, on a front that shows the notice to them alone (a
/// Discord server channel).
async fn in_group(phone: &Phone, user: &str, name: &str, args: &[&str]) -> essaim_chat::Handled {
    in_shared(phone, user, name, args, true).await
}

async fn in_shared(phone: &Phone, user: &str, name: &str, args: &[&str], private_notice: bool) -> essaim_chat::Handled {
    let kind = IncomingKind::Command { name: name.into(), args: args.iter().map(|a| a.to_string()).collect() };
    let incoming = essaim_chat::Incoming {
        chat_id: "group".into(),
        chat: essaim_chat::ChatKind::Shared { private_notice },
        ..phone.incoming(user, kind)
    };
    phone.engine.handle(&incoming).await.expect("handled")
}

#[tokio::test]
async fn in_a_shared_chat_no_account_is_linked_and_nothing_personal_is_posted() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.invite("SUPA2", Some(A)).await;
        // Linking where others read would send the offers there: refused, the code kept for the DM.
        let refused = in_group(&phone, "newbie", "start", &["SUPA2"]).await;
        let notice = refused.notice.unwrap_or_default();
        assert!(notice.contains("n'a pas été relié") && notice.contains("conversation privée"), "{notice}");
        assert!(phone.engine.store().account("telegram", "newbie").await?.is_none());
        phone.send("newbie", "/start SUPA2").await;
        assert!(phone.last_to("newbie").await.contains("Atelier A"), "the code still links in a private chat");

        phone.send("fac", "/repartir T-1").await;
        // A linked user's answers go to their private chat, buttons and all; the group reads nothing.
        let before = phone.to("a").await.len();
        let lots = in_group(&phone, "a", "mes_lots", &[]).await;
        assert_eq!(lots.notice.as_deref(), Some("📬 Réponse envoyée en message privé."));
        let listed = phone.to("a").await;
        assert!(listed.len() > before && listed[before].text.contains("offre(s) en attente"), "{listed:?}");
        assert_eq!(listed.last().map(|m| m.buttons.concat().len()), Some(4));
        in_group(&phone, "fac", "etat", &["T-1"]).await;
        in_group(&phone, "a", "capacite", &[]).await;
        assert!(phone.last_to("fac").await.contains("T-1"));
        // Someone without an account reads the help in the notice (a Discord ephemeral answer).
        let help = in_group(&phone, "stranger", "aide", &[]).await;
        assert!(help.notice.unwrap_or_default().contains("/start"));
        assert!(phone.to("group").await.is_empty(), "nothing was posted where others read");

        // A Telegram group shows no notice for a typed command: the refusal is said there, as it is
        // the only place the bot reaches someone without a private chat; still nothing is linked.
        in_shared(&phone, "newbie2", "start", &["SUPA3"], false).await;
        assert!(phone.last_to("group").await.contains("n'a pas été relié"));
        assert!(phone.engine.store().account("telegram", "newbie2").await?.is_none());
        // A linked user's answer still goes to their private chat.
        in_shared(&phone, "a", "mes_lots", &[], false).await;
        assert_eq!(phone.to("group").await.len(), 1, "only the refusal");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_quantity_form_opens_only_on_an_open_offer_for_its_own_structure() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        let offer = phone.to("a").await.into_iter().find(|m| !m.buttons.is_empty()).expect("A's offer");
        let part = button_data(&offer, "Accepter une partie");
        let open_form = |user: &'static str, data: String| {
            let incoming = phone.incoming(user, IncomingKind::OpenForm { data });
            let engine = phone.engine.clone();
            async move { engine.handle(&incoming).await.expect("handled") }
        };
        let mine = open_form("a", part.clone()).await;
        assert!(mine.form && mine.notice.is_none(), "{mine:?}");
        let foreign = open_form("b", part.clone()).await;
        assert!(!foreign.form && foreign.notice.unwrap_or_default().contains("pas adressée"));
        let stranger = open_form("x", part.clone()).await;
        assert!(!stranger.form && stranger.notice.unwrap_or_default().contains("/start CODE"));
        phone.press("a", &button_data(&offer, "Refuser")).await;
        let closed = open_form("a", part).await;
        assert!(!closed.form && closed.notice.as_deref() == Some("Cette offre n'est plus ouverte."), "{closed:?}");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

/// Delivers everything queued as a dispatcher would: sent, the platform's id of each message `m{row}`.
async fn deliver(phone: &Phone) {
    let store = phone.engine.store();
    for m in store.outbox().await.expect("outbox").into_iter().filter(|m| m.sent_at.is_none()) {
        store.outbox_sent(m.id, Some(&format!("m{}", m.id))).await.expect("sent");
    }
}

/// The platform's id of the sent message queued under `key` (an offer: `offer:T-1:N:telegram:USER`).
async fn sent_id(phone: &Phone, key_start: &str, user: &str) -> String {
    let rows = phone.engine.store().outbox().await.expect("outbox");
    let row = rows.iter().find(|m| m.key.starts_with(key_start) && m.key.ends_with(&format!(":telegram:{user}")));
    row.and_then(|m| m.platform_message_id.clone()).unwrap_or_else(|| panic!("{key_start}…{user} sent"))
}

/// The edits queued for the message `id`.
async fn edits_of(phone: &Phone, id: &str) -> Vec<Outgoing> {
    phone.outbox().await.into_iter().filter(|m| m.edit_message_id.as_deref() == Some(id)).collect()
}

#[tokio::test]
async fn a_closed_offer_loses_its_buttons_on_every_message_that_showed_them() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        deliver(&phone).await;
        phone.send("fac", "/relancer T-1").await;
        deliver(&phone).await;
        let (offer_a, reminder_a) =
            (sent_id(&phone, "offer:T-1:", "a").await, sent_id(&phone, "remind1:T-1:", "a").await);
        let (offer_b, reminder_b) =
            (sent_id(&phone, "offer:T-1:", "b").await, sent_id(&phone, "remind1:T-1:", "b").await);

        // A lists its open offers: one more copy with the buttons.
        phone.send("a", "/mes_lots").await;
        deliver(&phone).await;
        let rows = phone.engine.store().outbox().await?;
        let listed = rows.iter().find(|m| m.key.starts_with("listed:T-1:")).and_then(|m| m.platform_message_id.clone());
        let listed_a = listed.expect("the listed copy sent");

        // A accepts a part through the form (Discord's modal): no pressed message to edit, yet the offer,
        // its reminder and the listed copy all lose their buttons and say what was answered.
        let offer = phone.to("a").await.into_iter().find(|m| !m.buttons.is_empty()).expect("A's offer");
        let part = button_data(&offer, "Accepter une partie");
        let form = IncomingKind::Form { data: part, value: "30".into() };
        phone.engine.handle(&phone.incoming("a", form)).await.expect("handled");
        for (id, head) in [(&offer_a, "Nouvelle offre"), (&reminder_a, "Rappel"), (&listed_a, "Nouvelle offre")] {
            let edits = edits_of(&phone, id).await;
            assert_eq!(edits.len(), 1, "{edits:?}");
            assert!(edits[0].buttons.is_empty(), "the buttons are gone");
            assert!(
                edits[0].text.contains(head) && edits[0].text.contains("Accepté en partie : 30 h"),
                "{}",
                edits[0].text
            );
        }

        // B accepts on the reminder: its first offer message is closed too; the pressed reminder gets the
        // answer only, once.
        let rows = phone.engine.store().outbox().await?;
        let row = rows.into_iter().find(|m| m.platform_message_id.as_ref() == Some(&reminder_b)).expect("B's reminder");
        let reminder: Outgoing = serde_json::from_value(row.payload).expect("outgoing JSON");
        phone.press_on("b", &button_data(&reminder, "Accepter"), &reminder_b).await;
        let closed = edits_of(&phone, &offer_b).await;
        assert!(
            closed.len() == 1 && closed[0].buttons.is_empty() && closed[0].text.contains("✅ Accepté : 40 h"),
            "{closed:?}"
        );
        assert_eq!(edits_of(&phone, &reminder_b).await.len(), 1, "the pressed message is edited once");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn an_expired_offer_loses_its_buttons_and_says_why() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        deliver(&phone).await;
        let offer_a = sent_id(&phone, "offer:T-1:", "a").await;
        let later: DateTime<Utc> = Utc::now() + Duration::hours(49);
        let scheduler = essaim_chat::Scheduler::new(phone.engine.clone().with_clock(move || later)).expect("schedule");
        assert_eq!(scheduler.tick().await.expect("tick"), 1);
        let edits = edits_of(&phone, &offer_a).await;
        assert!(edits.len() == 1 && edits[0].buttons.is_empty(), "{edits:?}");
        assert!(
            edits[0].text.contains("60 h")
                && edits[0]
                    .text
                    .ends_with("⌛ Sans réponse dans le délai : l'offre est proposée à d'autres structures."),
            "{}",
            edits[0].text
        );
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn an_account_linked_in_a_shared_chat_before_is_told_to_link_in_private() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        linked_campaign(&phone).await;
        phone.invite("SUPA2", Some(A)).await;
        // Linked in the group when linking did not ask for a private chat.
        let start = IncomingKind::Command { name: "start".into(), args: vec!["SUPA2".into()] };
        let old = essaim_chat::Incoming { chat_id: "group".into(), ..phone.incoming("old", start) };
        phone.engine.handle(&old).await.expect("handled");
        let lots = in_group(&phone, "old", "mes_lots", &[]).await.notice.unwrap_or_default();
        assert!(
            lots.contains("Aucune offre en attente")
                && lots.contains("relié à cette conversation, que d'autres lisent"),
            "{lots}"
        );
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}
