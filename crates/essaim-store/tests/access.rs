//! API tokens and buyer accounts, on every backend (SQLite always; PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set).

use essaim_core::{Role, Scope, Siret};
use essaim_store::testing::{execute_raw, with_each_backend};
use essaim_store::{AccountLink, Applied, Changeset, InboxKey, StoreError, TOKENS_STREAM};

const BUYER: &str = "15543739500017";

fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("test SIRET")
}

#[tokio::test]
async fn a_token_is_found_by_its_hash_until_revoked_and_the_log_never_holds_the_hash() {
    with_each_backend(|store| async move {
        store.create_api_token("tok1", "hash-of-secret", "buyer", Some(&siret(BUYER)), Some("Métropole")).await?;
        store.create_api_token("tok2", "hash-of-other", "facilitator", None, None).await?;
        let token = store.api_token_by_hash("hash-of-secret").await?.expect("live token");
        assert_eq!((token.id.as_str(), token.role.as_str()), ("tok1", "buyer"));
        assert_eq!(token.buyer, Some(siret(BUYER)));
        assert_eq!(store.api_token_by_hash("hash-unknown").await?, None);

        // A buyer token needs its buyer: the database refuses one without.
        assert!(store.create_api_token("tok3", "h3", "buyer", None, None).await.is_err());
        // Same hash twice is refused (the hash is unique).
        assert!(store.create_api_token("tok4", "hash-of-secret", "facilitator", None, None).await.is_err());

        assert!(store.revoke_api_token("tok1").await?);
        assert!(!store.revoke_api_token("tok1").await?, "revoking twice changes nothing");
        assert_eq!(store.api_token_by_hash("hash-of-secret").await?, None);
        let log = store.events(TOKENS_STREAM).await?;
        let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, vec!["api_token_created", "api_token_created", "api_token_revoked"]);
        assert!(log.iter().all(|e| !e.payload.to_string().contains("hash-of")));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_buyer_invite_links_an_account_that_speaks_for_the_buyer() {
    with_each_backend(|store| async move {
        store.create_buyer_invite("BUYER1", &siret(BUYER), None).await?;
        let invite = store.invite("BUYER1").await?.expect("invite");
        assert_eq!(
            (invite.role.as_str(), invite.buyer.as_ref(), invite.supplier),
            ("buyer", Some(&siret(BUYER)), None)
        );
        let applied = store
            .apply(&Changeset {
                inbox: Some(InboxKey { platform: "telegram".into(), update_id: "1".into() }),
                consume_invite: Some("BUYER1".into()),
                link: Some(AccountLink {
                    platform: "telegram".into(),
                    user_id: "900".into(),
                    chat_id: "900".into(),
                    role: essaim_core::Role::Buyer,
                    supplier: None,
                    buyer: invite.buyer.clone(),
                    language: Some("fr".into()),
                    display_name: None,
                    scope: None,
                }),
                ..Changeset::default()
            })
            .await?;
        assert_eq!(applied, Applied::Done);
        let accounts = store.accounts_for_buyer(&siret(BUYER)).await?;
        assert_eq!(accounts.len(), 1);
        assert_eq!((accounts[0].user_id.as_str(), accounts[0].buyer.as_ref()), ("900", Some(&siret(BUYER))));
        assert!(store.accounts_for_buyer(&siret("73282932000074")).await?.is_empty());
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_facilitator_token_and_invite_carry_their_territory_to_the_account_they_link() {
    with_each_backend(|store| async move {
        let lyon = Scope::parse("scope", "G-LYON,dep:69").expect("scope");
        store.create_facilitator_token("tok-lyon", "hash-lyon", &lyon, Some("Lyon")).await?;
        store.create_api_token("tok-nat", "hash-nat", "facilitator", None, None).await?;
        store.create_api_token("tok-buyer", "hash-buyer", "buyer", Some(&siret(BUYER)), None).await?;
        let scope_of = async |hash: &str| store.api_token_by_hash(hash).await.map(|t| t.expect("token").scope);
        assert_eq!(scope_of("hash-lyon").await?, Some(lyon.clone()));
        // A facilitator token made without a territory is national, as every token before scopes.
        assert_eq!(scope_of("hash-nat").await?, Some(Scope::National));
        assert_eq!(scope_of("hash-buyer").await?, None);

        store.create_facilitator_invite("FAC-LYON", &lyon, None).await?;
        let invite = store.invite("FAC-LYON").await?.expect("invite");
        assert_eq!((invite.role, invite.scope.as_ref()), (Role::Facilitator, Some(&lyon)));
        let link = AccountLink {
            platform: "telegram".into(),
            user_id: "42".into(),
            chat_id: "42".into(),
            role: Role::Facilitator,
            supplier: None,
            buyer: None,
            language: None,
            display_name: None,
            scope: invite.scope.clone(),
        };
        let changes = Changeset { consume_invite: Some("FAC-LYON".into()), link: Some(link), ..Changeset::default() };
        assert_eq!(store.apply(&changes).await?, Applied::Done);
        let account = store.account("telegram", "42").await?.expect("linked");
        assert_eq!(account.scope, Some(lyon));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn facilitators_from_before_scopes_become_national_and_one_without_a_scope_is_refused() {
    with_each_backend(|store| async move {
        let link = AccountLink {
            platform: "telegram".into(),
            user_id: "7".into(),
            chat_id: "7".into(),
            role: Role::Facilitator,
            supplier: None,
            buyer: None,
            language: None,
            display_name: None,
            scope: None,
        };
        assert_eq!(store.apply(&Changeset { link: Some(link), ..Changeset::default() }).await?, Applied::Done);
        store.create_api_token("tok-old", "hash-old", "facilitator", None, None).await?;
        store.create_invite("FAC-OLD", Role::Facilitator, None, None).await?;
        // The rows as the migration found them: no scope column filled.
        for table in ["chat_accounts", "api_tokens", "invites"] {
            execute_raw(&store, &format!("UPDATE {table} SET scope = NULL")).await?;
        }
        let err = store.account("telegram", "7").await.expect_err("a facilitator without a scope");
        assert!(err.to_string().contains("a facilitator without a scope"), "{err}");
        assert!(store.api_token_by_hash("hash-old").await.is_err());

        // The migration's own statements (same on both backends) give them their national scope back.
        let migration = include_str!("../../../migrations/sqlite/0009_facilitator_scope.sql");
        assert_eq!(migration.lines().filter(|l| l.starts_with("UPDATE")).count(), 3);
        for statement in migration.lines().filter(|l| l.starts_with("UPDATE")) {
            execute_raw(&store, statement.trim_end_matches(';')).await?;
        }
        assert_eq!(store.account("telegram", "7").await?.expect("linked").scope, Some(Scope::National));
        assert_eq!(store.api_token_by_hash("hash-old").await?.expect("token").scope, Some(Scope::National));
        assert_eq!(store.invite("FAC-OLD").await?.expect("invite").scope, Some(Scope::National));
        Ok::<_, StoreError>(())
    })
    .await;
}
