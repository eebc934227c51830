//! The lead of a job among replicas (Telegram long polling): one process at a time on PostgreSQL, taken
//! over once the leader's session is gone; on SQLite the one process always leads.

use essaim_store::testing::with_each_database_url;
use essaim_store::{Backend, Store, StoreError};

#[tokio::test]
async fn one_replica_leads_a_job_and_another_takes_over_when_its_session_ends() {
    with_each_database_url(|backend, url| async move {
        let (one, two) = (Store::connect(&url).await?, Store::connect(&url).await?);
        one.migrate().await?;
        let mut lead = one.try_lead("telegram-polling").await?.expect("the first replica leads");
        assert_eq!(lead.job(), "telegram-polling");
        assert!(lead.is_held().await);
        let second = two.try_lead("telegram-polling").await?;
        if backend == Backend::Postgres {
            assert!(second.is_none(), "two replicas lead Telegram polling at once");
            // Another job has a lead of its own.
            assert!(two.try_lead("something-else").await?.is_some());
            // The leader's session ends (a dead process's connection closes): the standby takes over.
            lead.release().await;
            let taken = two.try_lead("telegram-polling").await?.expect("the standby takes over");
            assert!(one.try_lead("telegram-polling").await?.is_none(), "the old leader stands by");
            drop(taken);
        } else {
            // One process per SQLite database: it always leads.
            assert!(second.is_some());
        }
        one.close().await;
        two.close().await;
        Ok::<_, StoreError>(())
    })
    .await;
}
