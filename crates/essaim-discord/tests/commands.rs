//! Registration of the slash commands on the fake Discord.

mod common;

use common::fake_and_http;
use essaim_discord::fake::FakeDiscord;
use serde_json::Value;

#[tokio::test]
async fn registration_overwrites_the_global_commands_with_french_names() {
    let (fake, http) = fake_and_http().await;
    essaim_discord::register_commands(&http, FakeDiscord::APPLICATION_ID).await.expect("registered");
    assert_eq!(fake.calls(), [format!("PUT /applications/{}/commands", FakeDiscord::APPLICATION_ID)]);
    let commands = fake.commands().expect("a set of commands");
    let commands = commands.as_array().expect("an array");
    let names: Vec<(&str, &str)> = commands
        .iter()
        .map(|c| (c["name"].as_str().unwrap_or_default(), c["name_localizations"]["fr"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        names,
        [
            ("start", "demarrer"),
            ("help", "aide"),
            ("tenders", "appels"),
            ("allocate", "repartir"),
            ("status", "etat"),
            ("lots", "mes_lots"),
            ("capacity", "capacite"),
            ("remind", "relancer"),
            ("send", "envoyer"),
            ("invite", "inviter"),
            ("price", "tarif"),
            ("lead", "mandataire"),
            ("close", "clore"),
            ("invite_all", "inviter_tous"),
            ("withdraw", "retirer"),
            ("forget", "oublier"),
            ("reply", "repondre"),
            ("members", "membres"),
        ]
    );
    for command in commands {
        let description = command["description"].as_str().unwrap_or_default();
        assert!(!description.is_empty() && description.chars().count() <= 100, "{command}");
        assert!(command["description_localizations"]["en-US"].is_string(), "{command}");
    }
    let capacity = &commands[6]["options"];
    let option = |i: usize, k: &str| capacity[i][k].clone();
    assert_eq!(option(0, "name"), "sector");
    assert_eq!(option(1, "name"), "quantity");
    assert_eq!(option(1, "type"), 10, "a number");
    assert_eq!(option(1, "required"), Value::Bool(false), "/capacite alone lists what is free");
    let invite = &commands[9]["options"];
    assert_eq!((invite[0]["name"].as_str(), invite[1]["name"].as_str()), (Some("siret"), Some("ref")));
    assert_eq!(commands[0]["options"][0]["name"], "code");
}
