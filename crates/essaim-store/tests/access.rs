//! API tokens and buyer accounts, on every backend (SQLite always; PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set).

use essaim_core::Siret;
use essaim_store::testing::with_each_backend;
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
