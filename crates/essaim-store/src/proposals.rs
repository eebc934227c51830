//! What a proposal is built from, read in one place so that the API, the chat and the command line
//! build the same proposal from the same records.

use chrono::{DateTime, Utc};
use essaim_core::proposal::BidSettings;
use essaim_core::{
    Campaign, Groupement, GroupementKind, ImpactSettings, Lang, Proposal, ProposalError, ProposalInput, Supplier,
    Tender, TenderRef,
};

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

impl ProposalSources {
    /// The proposal of the stored campaign; `None` before a campaign is launched.
    pub fn proposal(
        &self,
        impact: &ImpactSettings,
        bid: &BidSettings,
        groupement_kind: GroupementKind,
        lang: Lang,
        generated_at: DateTime<Utc>,
    ) -> Option<Result<Proposal, ProposalError>> {
        let campaign = self.campaign.as_ref()?;
        Some(Proposal::build(&ProposalInput {
            tender: &self.tender,
            groupement: self.groupement.as_ref(),
            suppliers: &self.suppliers,
            campaign,
            impact,
            bid,
            groupement_kind,
            generated_at,
            lang,
        }))
    }
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
        let (_, campaign) = self.campaign(reference).await?;
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
