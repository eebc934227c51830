//! The e-mail channel end to end, with real parts: the campaign is launched through the engine, the
//! dispatcher sends its offers by SMTP (lettre) to a real SMTP server on loopback (aiosmtpd, which
//! writes a maildir), the mails are parsed as a mail client would, and their links are followed over
//! HTTP against the answer pages served by axum. On every backend.
//!
//! aiosmtpd comes from PyPI (`pip install aiosmtpd`); without it the test says so and passes, unless
//! `ESSAIM_TEST_REQUIRE_SMTP=1` (CI sets it) makes its absence a failure.

use std::sync::Arc;
use std::time::Duration;

use essaim_chat::{Dispatcher, Engine, Incoming, IncomingKind, Limits, Outgoing, Platform};
use essaim_core::{OfferState, TenderRef};
use essaim_mail::{LinkKey, Links, Mailbox, Security, SmtpSender, SmtpSettings, message_id};
use essaim_store::testing::with_each_backend;
use tokio::sync::Notify;

mod common;
use common::smtp_server::SmtpServer;
use common::*;

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).header("Accept-Language", "fr-FR,fr;q=0.9").send().await.expect("GET");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn post(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = client.post(url).form(form).send().await.expect("POST");
    (response.status().as_u16(), response.text().await.expect("body"))
}

#[tokio::test]
async fn offers_reach_structures_by_mail_and_their_links_answer_once() {
    let Some(smtp) = SmtpServer::start() else { return };
    let smtp = Arc::new(smtp);
    with_each_backend(|store| {
        let smtp = smtp.clone();
        async move {
            territory(&store).await;
            let engine = Engine::new(store.clone(), settings(), Arc::new(Notify::new()));
            let base = serve_pages(engine.clone()).await;
            let links = Links { key: LinkKey::new(KEY).expect("key"), base_url: base.clone(), valid_for: days(14) };
            let from: Mailbox = "essaim <campagnes@essaim.example>".parse().expect("from");
            let sender = SmtpSender::new(
                &SmtpSettings {
                    host: "127.0.0.1".into(),
                    port: smtp.port,
                    security: Security::Plain,
                    credentials: None,
                    from: from.clone(),
                    timeout: Duration::from_secs(10),
                },
                links.clone(),
            )
            .expect("sender");
            let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Email, sender, Limits::none());

            // The facilitator (a Telegram account) launches; nobody is « without a linked account »: all
            // three are reached at their directory address.
            store.create_invite("FAC-MAIL", essaim_core::Role::Facilitator, None, None).await?;
            let fac = |n: u64, kind: IncomingKind| Incoming {
                platform: Platform::Telegram,
                update_id: format!("u{n}"),
                user_id: "fac".into(),
                chat_id: "fac".into(),
                user_name: None,
                language: Some("fr".into()),
                chat: essaim_chat::ChatKind::Private,
                kind,
            };
            let command = |name: &str, arg: &str| IncomingKind::Command { name: name.into(), args: vec![arg.into()] };
            engine.handle(&fac(1, command("start", "FAC-MAIL"))).await.expect("start");
            engine.handle(&fac(2, command("repartir", "T-MAIL"))).await.expect("launch");
            let to_fac = |outbox: Vec<essaim_store::OutboxMessage>| -> String {
                outbox
                    .into_iter()
                    .filter(|m| m.chat_id == "fac")
                    .filter_map(|m| serde_json::from_value::<Outgoing>(m.payload).ok())
                    .map(|m| m.text)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let launch = to_fac(store.outbox().await?);
            assert!(launch.contains("3 offre(s) envoyée(s) à 3 structure(s)"), "{launch}");
            assert!(!launch.contains("Sans compte relié"), "every structure is reachable by mail: {launch}");

            smtp.new_mails();
            while dispatcher.run_once().await? > 0 {}
            let mails = smtp.new_mails();
            assert_eq!(mails.len(), 3, "one offer mail per structure");
            let mail_to = |local: &str| {
                mails.iter().find(|m| m.to.contains(&format!("direction-{local}@"))).expect("a mail to the structure")
            };
            let (a, b, c) = (mail_to("a"), mail_to("b"), mail_to("c"));

            // A mail client's view: a subject, both parts, the amount, and a Message-ID from the outbox key.
            assert!(a.subject.contains("T-MAIL") || a.subject.contains("offre"), "subject: {}", a.subject);
            assert!(a.text.contains("50 h") && a.html.contains("50 h"), "{}", a.text);
            assert!(a.html.contains(&format!("href=\"{base}/reponse/")), "{}", a.html);
            let offer_row = store
                .outbox()
                .await?
                .into_iter()
                .find(|m| m.platform == "email" && m.chat_id.starts_with("direction-a@"))
                .expect("A's outbox row");
            assert_eq!(a.message_id, message_id(&offer_row.key, &from));

            let client = reqwest::Client::new();

            // B stops reminders in one click from its mail client (List-Unsubscribe, RFC 8058); a relance
            // then reaches A and C, not B. Offers and receipts still reach B: they are not optional.
            let quiet = b.header("List-Unsubscribe").expect("List-Unsubscribe");
            assert_eq!(b.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
            let quiet = quiet.trim_matches(|c| c == '<' || c == '>').to_owned();
            assert!(b.text.contains(&quiet), "the footer carries the same link: {}", b.text);
            let (status, page) = get(&client, &quiet).await;
            assert_eq!(status, 200);
            assert!(page.contains("direction-b@structures.example") && page.contains("Ne plus recevoir"), "{page}");
            assert!(store.wants_reminder_mail("direction-b@structures.example").await?, "a GET changes nothing");
            let (status, page) = post(&client, &quiet, &[("List-Unsubscribe", "One-Click")]).await;
            assert_eq!(status, 200, "{page}");
            assert!(page.contains("Recevoir à nouveau"), "{page}");
            assert!(!store.wants_reminder_mail("direction-b@structures.example").await?);
            engine.handle(&fac(3, command("relancer", "T-MAIL"))).await.expect("remind");
            while dispatcher.run_once().await? > 0 {}
            let reminded: Vec<String> = smtp.new_mails().into_iter().map(|m| m.to).collect();
            assert_eq!(reminded.len(), 2, "{reminded:?}");
            assert!(reminded.iter().all(|to| !to.contains("direction-b@")), "{reminded:?}");

            // A opens « Accepter »: the page shows the offer and asks to confirm; opening records nothing
            // (mail scanners open links too).
            let accept = a.link("Accepter");
            let (status, page) = get(&client, &accept).await;
            assert_eq!(status, 200);
            assert!(page.contains("id=\"confirm\"") && page.contains("50 h"), "{page}");
            assert_eq!(offer_state(&store, A).await, OfferState::Open);
            let (status, page) = post(&client, &accept, &[]).await;
            assert_eq!(status, 200, "{page}");
            assert!(page.contains("id=\"recorded\"") && page.contains("Vous avez accepté 50 h"), "{page}");
            assert!(matches!(offer_state(&store, A).await, OfferState::Accepted { quantity, .. } if quantity == 50.0));
            // A second click shows what was recorded and records nothing more.
            let events = store.campaign_log(&TenderRef::parse("r", "T-MAIL").expect("ref")).await?.events.len();
            let (status, page) = post(&client, &accept, &[]).await;
            assert_eq!(status, 200);
            assert!(page.contains("id=\"recorded\"") && page.contains("Vous avez accepté 50 h"), "{page}");
            let (_, page) = get(&client, &a.link("Refuser")).await;
            assert!(page.contains("id=\"recorded\"") && !page.contains("<form"), "{page}");
            let after = store.campaign_log(&TenderRef::parse("r", "T-MAIL").expect("ref")).await?.events.len();
            assert_eq!(after, events, "a second click records nothing");

            // A asks a question from the mail, after accepting: it reaches the facilitator; an empty one is refused.
            let ask = a.link("Poser une question");
            let (status, page) = post(&client, &ask, &[("detail", "  ")]).await;
            assert_eq!(status, 422, "{page}");
            let (status, page) = post(&client, &ask, &[("detail", "Faut-il un badge d'accès ?")]).await;
            assert_eq!(status, 200, "{page}");
            assert!(page.contains("Question transmise"), "{page}");
            assert!(to_fac(store.outbox().await?).contains("« Faut-il un badge d'accès ? »"));

            // B declines with a reason and a word: both are stored with the refusal and told to the facilitator.
            let decline = b.link("Refuser");
            let (_, page) = get(&client, &decline).await;
            assert!(page.contains("name=\"reason\"") && page.contains("value=\"capacité\""), "{page}");
            let huge = "x".repeat(5 * 1024 * 1024);
            let (status, _) = post(&client, &decline, &[("reason", "capacité"), ("detail", &huge)]).await;
            assert_eq!(status, 413, "a 5 MB form is refused");
            assert_eq!(offer_state(&store, B).await, OfferState::Open, "and records nothing");
            let (status, page) =
                post(&client, &decline, &[("reason", "capacité"), ("detail", "équipe prise jusqu'en mars")]).await;
            assert_eq!(status, 200, "{page}");
            match offer_state(&store, B).await {
                OfferState::Declined { reason: Some(reason), .. } => {
                    assert!(reason.contains("capacité") && reason.contains("équipe prise jusqu'en mars"), "{reason}");
                }
                other => panic!("B's offer should be declined with a reason, is {other:?}"),
            }
            assert!(to_fac(store.outbox().await?).contains("Brigade B refuse"));

            // C accepts part: a quantity out of bounds is explained and keeps the form; 30 is taken.
            let part = c.link("Accepter une partie");
            let (_, page) = get(&client, &part).await;
            assert!(page.contains("name=\"quantity\""), "{page}");
            let (status, page) = post(&client, &part, &[("quantity", "500")]).await;
            assert_eq!(status, 422, "{page}");
            assert!(page.contains("name=\"quantity\""), "the form stays: {page}");
            assert_eq!(offer_state(&store, C).await, OfferState::Open);
            let (status, page) = post(&client, &part, &[("quantity", "30")]).await;
            assert_eq!(status, 200, "{page}");
            assert!(matches!(offer_state(&store, C).await, OfferState::Accepted { quantity, .. } if quantity == 30.0));

            // A forged link and an expired one show a page and change nothing.
            let token = accept.rsplit('/').next().expect("token");
            let mut forged = token.to_owned();
            let last = forged.pop().expect("a character");
            forged.push(if last == 'A' { 'B' } else { 'A' });
            let (status, page) = get(&client, &format!("{base}/reponse/{forged}")).await;
            assert_eq!(status, 400, "{page}");
            let expired = Links { valid_for: -days(1), ..links.clone() };
            let button = essaim_chat::Button {
                label: "Accepter".into(),
                data: data_of(&store, C, "ok").await,
                asks_quantity: false,
            };
            let (status, page) = get(&client, &expired.url(&button, chrono::Utc::now())).await;
            assert_eq!(status, 410, "{page}");
            assert!(page.contains("expiré"), "{page}");

            // The notices of each answer went by mail too (the edited offer, the reallocation).
            while dispatcher.run_once().await? > 0 {}
            let later = smtp.new_mails();
            // Each structure keeps a receipt of its answer, the offer repeated under it; the failures of
            // none of these mails reached the facilitator.
            let receipt = later
                .iter()
                .find(|m| m.to.contains("direction-a@") && m.subject.starts_with("Accepté : 50 h"))
                .expect("A's receipt");
            assert!(receipt.text.contains("Nettoyage près de Atelier A (L1) : 50 h"), "{}", receipt.text);
            assert!(later.iter().any(|m| m.to.contains("direction-c@") && m.text.contains("30 h sur 50")));

            // Every offer is answered and a line is covered in part: the facilitator chooses, then the
            // purchasing officer receives the proposal by mail, the page and the workbook attached.
            engine
                .handle(&fac(4, IncomingKind::Button { data: "bm:T-MAIL".into(), message_id: Some("1".into()) }))
                .await
                .expect("send partial");
            while dispatcher.run_once().await? > 0 {}
            let bid = smtp.new_mails().into_iter().find(|m| m.to.contains("achats@ville-test.example"));
            let bid = bid.expect("the buyer's mail");
            assert!(bid.subject.contains("Proposition du groupement"), "{}", bid.subject);
            let names: Vec<&str> = bid.attachments.iter().map(|(n, _, _)| n.as_str()).collect();
            assert_eq!(names, ["proposition-T-MAIL.html", "proposition-T-MAIL.xlsx"], "{names:?}");
            let page = String::from_utf8_lossy(&bid.attachments[0].2);
            assert!(page.contains("Atelier A") && page.contains("Chantier C"), "the page lists the members");
            assert!(bid.attachments[1].2.starts_with(b"PK"), "the workbook is a real XLSX (a zip)");
            let failed = store.outbox().await?.into_iter().filter(|m| m.last_error.is_some()).count();
            assert_eq!(failed, 0, "every mail was accepted by the SMTP server");
            Ok::<_, essaim_store::StoreError>(())
        }
    })
    .await;
}
