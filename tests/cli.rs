//! The command line (allocate, import, demo, migrate, campaign, forget): each test starts the real
//! executable with a fresh database (SQLite always, PostgreSQL when ESSAIM_TEST_POSTGRES_URL is set).

use std::path::Path;
use std::process::{Command, Output};

use essaim_store::testing::with_each_database_url;
use serde_json::Value;

use crate::support::{essaim_bin, repo_file};

fn essaim(args: &[&str], url: Option<&str>, dir: &Path) -> Output {
    let mut command = Command::new(essaim_bin());
    command
        .args(args)
        .current_dir(dir)
        .env("ESSAIM_DATA_DIR", dir)
        .env_remove("ESSAIM_DATABASE_URL")
        .env_remove("ESSAIM_CONFIG");
    if let Some(url) = url {
        command.env("ESSAIM_DATABASE_URL", url);
    }
    command.output().expect("the essaim binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const INSTANCE: &str = r#"{
  "lines": [ {"id": "L1", "sector": "nettoyage", "quantity": 120, "unit": "h",
              "site": {"lat": 45.764, "lon": 4.8357}, "max_share": 0.6},
             {"id": "L2", "sector": "textile", "quantity": 30, "site": {"lat": 45.764, "lon": 4.8357}} ],
  "suppliers": [ {"id": "S1", "name": "Atelier Exemple", "kind": "EI", "location": {"lat": 45.70, "lon": 4.88},
                  "max_distance_km": 40, "min_lot": 10, "capacity": {"nettoyage": 80}},
                 {"id": "S2", "location": {"lat": 45.75, "lon": 4.85}, "max_distance_km": 20, "min_lot": 5,
                  "capacity": {"nettoyage": 30}} ]
}"#;

#[test]
fn allocate_solves_a_file_and_explains_the_shortfall() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.json"), INSTANCE).unwrap();
    let out = essaim(&["allocate", "--input", "in.json", "--output", "out.json"], None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "optimal");
    // S1 may take at most 60% of L1 (72 h) and S2 its 30 h capacity: 102 h, 18 h short.
    let lots = result["lots"].as_array().unwrap();
    let total: f64 = lots.iter().map(|l| l["quantity"].as_f64().unwrap()).sum();
    assert!((total - 102.0).abs() < 1e-6, "{result}");
    let shortfall = result["shortfall"].as_array().unwrap();
    assert_eq!(shortfall.len(), 2, "{result}");
    assert_eq!(shortfall[0]["line"], "L1");
    assert!((shortfall[0]["quantity"].as_f64().unwrap() - 18.0).abs() < 1e-6);
    let reason = shortfall[0]["reason"].as_str().unwrap();
    assert!(reason.contains("max share reached") && reason.contains("capacity exhausted"), "{reason}");
    assert_eq!(shortfall[1]["reason"], "no supplier has textile capacity");
}

/// Two kinds that may not both carry out a lot, a clause, a fixed lot topped up.
const RULES: &str = r#"{
  "lines": [ {"id": "L1", "sector": "nettoyage", "quantity": 120, "site": {"lat": 45.764, "lon": 4.8357},
              "insertion_hours_min": 100},
             {"id": "L2", "sector": "nettoyage", "quantity": 40, "site": {"lat": 45.764, "lon": 4.8357},
              "reserved": "insertion", "participation": ["execution", "mise_a_disposition"]} ],
  "suppliers": [ {"id": "GEIQ", "kind": "GEIQ", "location": {"lat": 45.765, "lon": 4.836}, "max_distance_km": 40,
                  "capacity": {"nettoyage": 500}},
                 {"id": "EI", "kind": "EI", "location": {"lat": 45.70, "lon": 4.88}, "max_distance_km": 40,
                  "capacity": {"nettoyage": 500}},
                 {"id": "AI", "kind": "AI", "location": {"lat": 45.75, "lon": 4.85}, "max_distance_km": 40,
                  "capacity": {"nettoyage": 30}, "insertion_rate": 1.0} ],
  "fixed": [ {"line": "L1", "supplier": "EI", "quantity": 20} ]
}"#;

#[test]
fn allocate_applies_the_procurement_rules_and_the_configured_insertion_rates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.json"), RULES).unwrap();
    let out = essaim(&["allocate", "--input", "in.json"], None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lots: Vec<(String, String, f64, bool)> = result["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap().to_owned();
            (s("line"), s("supplier"), l["quantity"].as_f64().unwrap(), l["fixed"].as_bool().unwrap_or(false))
        })
        .collect();
    // L1 (execution only) cannot go to the GEIQ; the EI keeps its 20 h and gets the other 100 on top.
    // L2 (reserved to SIAE, placements accepted): the AI (an SIAE) and the EI, never the GEIQ. Lots come by
    // line, then in the suppliers' input order.
    let want =
        [("L1", "EI", 20.0, true), ("L1", "EI", 100.0, false), ("L2", "EI", 10.0, false), ("L2", "AI", 30.0, false)];
    let want: Vec<(String, String, f64, bool)> =
        want.iter().map(|(l, s, q, f)| ((*l).to_owned(), (*s).to_owned(), *q, *f)).collect();
    assert_eq!(lots, want, "{result}");
    // The EI has no rate of its own: the configured default for an EI (0.6) counts 72 of the 100 clause hours.
    let clause = &result["clause_shortfall"][0];
    assert_eq!((clause["line"].as_str(), clause["hours"].as_f64()), (Some("L1"), Some(28.0)), "{result}");
    assert!(clause["reason"].as_str().unwrap().contains("at most 72"), "{result}");
}

#[test]
fn allocate_output_is_identical_across_runs_apart_from_the_timing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.json"), INSTANCE).unwrap();
    let run = || {
        let out = essaim(&["allocate", "--input", "in.json"], None, dir.path());
        assert!(out.status.success());
        let mut value: Value = serde_json::from_slice(&out.stdout).unwrap();
        value["stats"]["solve_ms"] = Value::Null;
        serde_json::to_string(&value).unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn allocate_takes_a_work_limit_a_time_limit_and_a_backend_and_refuses_what_it_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.json"), INSTANCE).unwrap();
    let out = essaim(
        &["allocate", "--input", "in.json", "--work-limit", "500", "--time-limit", "20", "--backend", "microlp"],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["status"], "optimal");
    assert_eq!(value["stats"]["stopped_by"], "proven_optimal");
    assert_eq!(value["stats"]["backend"], "microlp");
    for (flag, value, says) in [
        ("--backend", "cplex", "--backend: \"cplex\" is not built in"),
        ("--time-limit", "0", "--time-limit: 0 is not a positive number"),
        ("--time-limit", "-3", "--time-limit: -3 is not a positive number"),
    ] {
        let out = essaim(&["allocate", "--input", "in.json", flag, value], None, dir.path());
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(text(&out.stderr).contains(says), "{flag} {value}: {}", text(&out.stderr));
    }
}

#[test]
fn allocate_refuses_bad_input_with_exit_code_2_naming_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (INSTANCE.replace("\"quantity\": 120", "\"quantity\": -5"), "lines[0] (id \"L1\"): quantity"),
        (INSTANCE.replace("\"lat\": 45.70", "\"lat\": 95"), "suppliers[0] (id \"S1\"): location.lat"),
        (INSTANCE.replace("\"id\": \"S2\"", "\"id\": \"S1\""), "duplicate supplier id"),
        (
            INSTANCE.replace(
                "\"suppliers\"",
                "\"fixed\": [{\"line\": \"L2\", \"supplier\": \"S1\", \"quantity\": 5}], \"suppliers\"",
            ),
            "has no capacity in sector \"textile\"",
        ),
        ("{\"lines\": [".to_owned(), "not valid JSON"),
        (INSTANCE.replace("\"max_share\": 0.6", "\"reserved\": \"esat\""), "lines[0] (id \"L1\"): reserved"),
        (
            INSTANCE.replace("\"max_share\": 0.6", "\"participation\": [\"interim\"]"),
            "lines[0] (id \"L1\"): participation",
        ),
        (
            INSTANCE.replace("\"max_share\": 0.6", "\"insertion_hours_min\": 121"),
            "lines[0] (id \"L1\"): insertion_hours_min",
        ),
        (INSTANCE.replace("\"kind\": \"EI\"", "\"kind\": \"SCOP\""), "suppliers[0] (id \"S1\"): kind"),
    ];
    for (input, expected) in cases {
        std::fs::write(dir.path().join("bad.json"), &input).unwrap();
        let out = essaim(&["allocate", "--input", "bad.json", "--output", "bad-out.json"], None, dir.path());
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(expected), "expected « {expected} » in {}", text(&out.stderr));
        let result: Value = serde_json::from_slice(&std::fs::read(dir.path().join("bad-out.json")).unwrap()).unwrap();
        assert_eq!(result["status"], "invalid");
        assert!(result["error"].as_str().unwrap().contains(expected));
    }
    let out = essaim(&["allocate", "--input", "missing.json"], None, dir.path());
    assert_eq!(out.status.code(), Some(2));
}

const SUPPLIERS: &str = "siret,name,kind,latitude,longitude,max_distance_km,min_lot,capacities,groupement,groupement_lead\n\
73282932000074,Atelier Exemple,EI,45.70,4.88,40,10,nettoyage:80,G-TEST,true\n\
35600000049837,ESAT Exemple,ESAT,45.75,4.85,20,5,nettoyage:30;textile:50,G-TEST,\n";

const TENDER: &str = r#"{"ref": "T-TEST-1", "title": "Test", "buyer": {"name": "Ville"}, "groupement": "G-TEST",
  "deadline": "2026-12-15T18:00:00+01:00",
  "lines": [ {"id": "L1", "sector": "nettoyage", "quantity": 100, "site": {"lat": 45.76, "lon": 4.84},
              "window": {"start": "2027-01-04", "end": "2027-06-30"}} ]}"#;

#[tokio::test]
async fn import_is_all_or_nothing_and_names_file_line_and_field() {
    with_each_database_url(|backend, url| async move {
        let dir = tempfile::tempdir().unwrap();
        let bad = SUPPLIERS.replace("45.75,4.85", "45.75,abc").replace("73282932000074", "73282932000075");
        std::fs::write(dir.path().join("bad.csv"), bad).unwrap();
        let out = essaim(&["import", "suppliers", "bad.csv"], Some(&url), dir.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "[{backend}] {stderr}");
        assert!(stderr.contains("bad.csv:2: siret:"), "{stderr}");
        assert!(stderr.contains("bad.csv:3: longitude:"), "{stderr}");
        assert!(stderr.contains("nothing imported"), "{stderr}");

        // Nothing was imported: a tender for the groupement is refused.
        std::fs::write(dir.path().join("tender.json"), TENDER).unwrap();
        let out = essaim(&["import", "tender", "tender.json"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("unknown groupement G-TEST"), "{}", text(&out.stderr));

        // A tender line in pieces on a sector counted in hours is refused, naming the file, line and field.
        std::fs::write(
            dir.path().join("pieces.json"),
            TENDER.replace("\"quantity\": 100,", "\"quantity\": 100, \"unit\": \"pièces\","),
        )
        .unwrap();
        let out = essaim(&["import", "tender", "pieces.json"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("pieces.json: lines[0].unit: line L1:"), "{}", text(&out.stderr));

        // --skip-invalid keeps the valid rows; here the lead's row is rejected, so the groupement is too.
        std::fs::write(dir.path().join("no-lead.csv"), SUPPLIERS.replace("73282932000074", "73282932000075")).unwrap();
        let out = essaim(&["import", "suppliers", "no-lead.csv", "--skip-invalid"], Some(&url), dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("G-TEST has no lead"), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("1 supplier(s) imported"), "{}", text(&out.stdout));
        let out = essaim(&["import", "tender", "tender.json"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2));

        std::fs::write(dir.path().join("good.csv"), SUPPLIERS).unwrap();
        let out = essaim(&["import", "suppliers", "good.csv"], Some(&url), dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("2 supplier(s) imported"), "{}", text(&out.stdout));
        let out = essaim(&["import", "tender", "tender.json"], Some(&url), dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = essaim(&["import", "tender", "tender.json"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2), "a second import is refused without --replace");
        assert!(text(&out.stderr).contains("--replace"));
        let out = essaim(&["import", "tender", "tender.json", "--replace"], Some(&url), dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        Ok::<(), String>(())
    })
    .await;
}

#[tokio::test]
async fn demo_runs_offline_and_shows_lots_shortfall_and_impact() {
    with_each_database_url(|backend, url| async move {
        let dir = tempfile::tempdir().unwrap();
        let out = essaim(&["demo"], Some(&url), dir.path());
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
        for expected in [
            "T-2026-014",
            "optimale (prouvée)",
            "L6",
            "non couvertes",
            "pourquoi",
            "Heures d'insertion",
            "ETP",
            // The campaign, played on simulated phones.
            "[ Accepter ]  [ Refuser ]",
            // One structure without a chat account answers from its mail's link, with a reason.
            "📧",
            "reçoit un courriel à",
            "clique « Refuser » dans le courriel",
            "page : ✅ Vous avez refusé cette offre (capacité",
            "Motif : capacité",
            "Refus : ",
            "Accepté en partie",
            "Réaffectation",
            "campagne terminée",
        ] {
            assert!(stdout.contains(expected), "[{backend}] « {expected} » missing from:\n{stdout}");
        }
        // Running it again on the same database works (the sample is replaced, not duplicated).
        let again = essaim(&["demo"], Some(&url), dir.path());
        assert!(again.status.success(), "[{backend}] {}", text(&again.stderr));
        Ok::<(), String>(())
    })
    .await;
}

#[test]
fn demo_needs_no_configuration_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(essaim_bin())
        .arg("demo")
        .current_dir(dir.path())
        .env_remove("ESSAIM_DATABASE_URL")
        .env_remove("ESSAIM_DATA_DIR")
        .env_remove("ESSAIM_CONFIG")
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("SQLite"));
}

#[tokio::test]
async fn migrate_creates_the_schema_and_is_idempotent() {
    with_each_database_url(|backend, url| async move {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..2 {
            let out = essaim(&["migrate"], Some(&url), dir.path());
            assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
            assert!(text(&out.stdout).contains("Database ready"));
        }
        Ok::<(), String>(())
    })
    .await;
}

#[test]
fn an_unsupported_database_url_is_a_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = essaim(&["migrate"], Some("mysql://root@localhost/x"), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[tokio::test]
async fn a_campaign_is_steered_from_the_command_line_through_the_engine() {
    with_each_database_url(|backend, url| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = repo_file("data");
        std::fs::copy(data.join("suppliers.csv"), dir.path().join("suppliers.csv")).unwrap();
        // The sample tender without its deadline, so the test does not age.
        let mut tender: Value =
            serde_json::from_str(&std::fs::read_to_string(data.join("tender.json")).unwrap()).unwrap();
        tender.as_object_mut().unwrap().remove("deadline");
        std::fs::write(dir.path().join("tender.json"), tender.to_string()).unwrap();
        for args in [["import", "suppliers", "suppliers.csv"], ["import", "tender", "tender.json"]] {
            let out = essaim(&args, Some(&url), dir.path());
            assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
        }
        let campaign =
            |action: &str| essaim(&["campaign", action, "T-2026-014", "--as", "claire"], Some(&url), dir.path());

        let out = campaign("launch");
        assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Campagne T-2026-014 lancée"), "[{backend}] {}", text(&out.stdout));
        // Nobody in the sample has an account or the e-mail channel: the desk is told who to reach.
        assert!(text(&out.stdout).contains("Sans compte relié"), "[{backend}] {}", text(&out.stdout));
        let again = campaign("launch");
        assert!(
            text(&again.stdout).contains("déjà"),
            "[{backend}] a second launch is refused: {}",
            text(&again.stdout)
        );
        let status = text(&campaign("status").stdout);
        assert!(status.contains("campagne en cours") && status.contains("⏳"), "[{backend}] {status}");
        let members = text(&campaign("members").stdout);
        assert!(members.contains("👥 Structures de T-2026-014"), "[{backend}] {members}");
        assert!(text(&campaign("remind").stdout).contains("T-2026-014"), "[{backend}]");
        let closed = text(&campaign("close").stdout);
        assert!(closed.contains("close par le facilitateur"), "[{backend}] {closed}");
        let status = text(&campaign("status").stdout);
        assert!(status.contains("campagne terminée"), "[{backend}] {status}");
        assert!(text(&campaign("close").stdout).contains("n'est pas en cours"), "[{backend}]");

        let out = essaim(&["campaign", "status", "NOPE-1"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2), "[{backend}] an unknown tender is bad input");
        assert!(text(&out.stderr).contains("no tender NOPE-1"), "[{backend}] {}", text(&out.stderr));
        Ok::<(), String>(())
    })
    .await;
}

#[tokio::test]
async fn an_account_is_forgotten_from_the_command_line_on_a_request_made_by_mail() {
    with_each_database_url(|backend, url| async move {
        let dir = tempfile::tempdir().unwrap();
        assert!(essaim(&["migrate"], Some(&url), dir.path()).status.success(), "[{backend}]");
        let store = essaim_store::Store::connect(&url).await.unwrap();
        let link = essaim_store::AccountLink {
            platform: "telegram".into(),
            user_id: "5551234".into(),
            chat_id: "5551234".into(),
            role: essaim_core::Role::Facilitator,
            supplier: None,
            buyer: None,
            language: Some("fr".into()),
            display_name: Some("Claire Martin".into()),
            scope: None,
        };
        let linked = essaim_store::Changeset { link: Some(link), ..essaim_store::Changeset::default() };
        assert_eq!(store.apply(&linked).await.unwrap(), essaim_store::Applied::Done);

        let forget = |platform: &str| {
            essaim(&["forget", "--platform", platform, "--user-id", "5551234"], Some(&url), dir.path())
        };
        let out = forget("telegram");
        assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("anonyme-"), "[{backend}] {}", text(&out.stdout));
        assert_eq!(store.account("telegram", "5551234").await.unwrap(), None, "[{backend}]");
        for event in store.events(essaim_store::ACCOUNTS_STREAM).await.unwrap() {
            let payload = event.payload.to_string();
            assert!(!payload.contains("5551234") && !payload.contains("Claire"), "[{backend}] {payload}");
        }
        let again = forget("telegram");
        assert_eq!(again.status.code(), Some(2), "[{backend}] nothing left to forget");
        assert!(
            text(&again.stderr).contains("no linked telegram account 5551234"),
            "[{backend}] {}",
            text(&again.stderr)
        );
        assert_eq!(forget("fax").status.code(), Some(2), "[{backend}] an unknown platform is bad input");
        Ok::<(), String>(())
    })
    .await;
}

#[tokio::test]
async fn a_facilitator_invite_and_token_carry_their_scope_and_a_bad_one_is_named() {
    with_each_database_url(|backend, url| async move {
        let dir = tempfile::tempdir().unwrap();
        assert!(essaim(&["migrate"], Some(&url), dir.path()).status.success(), "[{backend}]");
        let store = essaim_store::Store::connect(&url).await.unwrap();
        let lyon = essaim_core::Scope::parse("scope", "G-LYON,dep:69").unwrap();

        let out = essaim(&["invite", "--facilitator", "--scope", "G-LYON, dep:69"], Some(&url), dir.path());
        assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("Facilitator invite (scope G-LYON,dep:69)"), "{}", text(&out.stderr));
        let code = text(&out.stdout).trim().trim_start_matches("/start ").to_owned();
        assert_eq!(store.invite(&code).await.unwrap().expect("invite").scope, Some(lyon.clone()), "[{backend}]");

        let out = essaim(&["token", "create", "--facilitator", "--scope", "G-LYON,dep:69"], Some(&url), dir.path());
        assert!(out.status.success(), "[{backend}] {}", text(&out.stderr));
        let token = text(&out.stdout).trim().to_owned();
        let hash = text(&essaim(&["token", "hash", &token], None, dir.path()).stdout).trim().to_owned();
        let stored = store.api_token_by_hash(&hash).await.unwrap().expect("token");
        assert_eq!(stored.scope, Some(lyon), "[{backend}]");
        // Without --scope: national, as every facilitator before scopes.
        let out = essaim(&["invite", "--facilitator"], Some(&url), dir.path());
        assert!(text(&out.stderr).contains("Facilitator invite (scope *)"), "{}", text(&out.stderr));

        let out = essaim(&["token", "create", "--facilitator", "--scope", "dep:00"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2), "[{backend}]");
        assert!(text(&out.stderr).contains("--scope: unknown département « 00 »"), "{}", text(&out.stderr));
        let out = essaim(&["invite", "--supplier", "73282932000074", "--scope", "G-LYON"], Some(&url), dir.path());
        assert_eq!(out.status.code(), Some(2), "a supplier's invite has no scope");
        Ok::<_, std::convert::Infallible>(())
    })
    .await;
}
