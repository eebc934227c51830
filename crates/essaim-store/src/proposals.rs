//! What a proposal is built from, read in one place so that the API, the chat and the command line
//! build the same proposal from the same records.

use essaim_core::{Campaign, CampaignEvent, Groupement, Supplier, Tender, TenderRef};

use crate::{Store, StoreError};

/// A tender with its groupement, the suppliers that may hold its lots, and its campaign.
#[derive(Debug, Clone)]
pub struct ProposalSources {
    pub tender: Tender,
    pub groupement: Option<Groupement>,
    /// The eligible suppliers, plus any supplier holding an offer of the campaign that is not (any more).
    pub suppliers: Vec<Supplier>,
    /// `None` until a campaign is launched.
    pub campaign: Option<Campaign>,
}

impl Store {
    /// The sources of a tender's proposal; `None` when the tender is unknown.
    #[tracing::instrument(skip(self), fields(tender = %reference))]
    pub async fn proposal_sources(&self, reference: &TenderRef) -> Result<Option<ProposalSources>, StoreError> {
        let Some(tender) = self.tender(reference).await? else { return Ok(None) };
        let groupement = match &tender.groupement {
            Some(code) => self.groupement(code).await?,
            None => None,
        };
        let mut suppliers = self.eligible_suppliers(&tender).await?.unwrap_or_default();
        let log = self.campaign_log(reference).await?;
        let events = log
            .events
            .iter()
            .map(|e| {
                serde_json::from_value::<CampaignEvent>(e.payload.clone())
                    .map_err(|err| StoreError::corrupt(format!("campaign {reference}, event {}: {err}", e.seq)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let campaign = Campaign::replay(reference.clone(), &events)
            .map_err(|e| StoreError::corrupt(format!("campaign {reference}: {e}")))?;
        if let Some(campaign) = &campaign {
            let mut missing: Vec<&str> = campaign
                .offers
                .values()
                .map(|o| o.terms.supplier.as_str())
                .filter(|s| !suppliers.iter().any(|k| k.siret.as_str() == *s))
                .collect();
            missing.sort_unstable();
            missing.dedup();
            for siret in missing {
                let Ok(siret) = essaim_core::Siret::parse(siret) else { continue };
                if let Some(s) = self.supplier(&siret).await? {
                    suppliers.push(s);
                }
            }
        }
        Ok(Some(ProposalSources { tender, groupement, suppliers, campaign }))
    }
}
