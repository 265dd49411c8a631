//! The messages a pledge's life causes, written in the transaction of the
//! change: a new patron (to the creator), a cancellation (to both), a
//! payout (to the creator). Receipts and declined payments of billing runs
//! are written in bulk (`receipts.rs`).

use maecenas_domain::posts::Audience;
use maecenas_domain::{BillingPeriod, EmailKind, UserId};
use maecenas_store::Tx;
use maecenas_store::campaigns::{self, CampaignRow};
use maecenas_store::emails;
use maecenas_store::payouts::PayoutRow;
use maecenas_store::pledges::PledgeRow;
use maecenas_store::posts::CreationRow;
use maecenas_store::users::{self, UserRow};

use super::{enqueue, messages};
use crate::text::money;
use crate::{ServiceError, Services};

/// A creator's page as messages name it: its own name, else the creator's.
pub(crate) fn page_name(campaign: &CampaignRow, creator: &UserRow) -> String {
    campaign
        .page_name
        .clone()
        .unwrap_or_else(|| creator.public_name())
}

impl Services {
    /// "New post" to every active patron of the campaign who wants it (all
    /// of them: a post above a patron's tier shows them what it unlocks).
    pub(crate) async fn mail_new_post_in(
        &self,
        tx: &mut Tx,
        post: &CreationRow,
        campaign: &CampaignRow,
    ) -> Result<(), ServiceError> {
        let Some(creator) = users::user_by_id(tx, campaign.creator_id).await? else {
            return Ok(());
        };
        let Some(username) = creator.username.clone() else {
            return Ok(());
        };
        let name = page_name(campaign, &creator);
        let link = self
            .mail
            .link(&format!("/{username}/posts/{}", post.id.get()));
        // A post above some patrons' tier says only that it is there.
        let excerpt = if post.audience == Audience::Tier.as_str() {
            String::new()
        } else {
            crate::text::excerpt(&post.body, 280)
        };
        let now = self.clock.now();
        let readers = emails::active_patron_recipients(tx, campaign.id, EmailKind::NewPost).await?;
        let mut written = Vec::with_capacity(readers.len());
        for reader in &readers {
            let letter =
                messages::new_post(&reader.first_name, &name, &post.title, &excerpt, &link);
            written.push(self.new_email(
                reader.user_id,
                &reader.email,
                EmailKind::NewPost,
                &letter,
                now,
            )?);
        }
        emails::insert_emails(tx, &written).await?;
        Ok(())
    }

    /// "Payout sent" to the creator of the campaign `payout` paid.
    pub(crate) async fn mail_payout_in(
        &self,
        tx: &mut Tx,
        payout: &PayoutRow,
    ) -> Result<(), ServiceError> {
        let Some(campaign) = campaigns::campaign_by_id(tx, payout.campaign_id).await? else {
            return Ok(());
        };
        let Some(creator) = users::user_by_id(tx, campaign.creator_id).await? else {
            return Ok(());
        };
        let period = match payout
            .period
            .as_deref()
            .and_then(|p| p.parse::<BillingPeriod>().ok())
        {
            Some(p) => crate::text::month(p),
            None => "the month so far".to_owned(),
        };
        let letter = messages::payout(
            &creator.first_name,
            &money(payout.amount_minor, &payout.currency),
            &period,
            &self.mail.link("/dashboard"),
        );
        enqueue(self, tx, &creator, EmailKind::Payout, &letter).await?;
        Ok(())
    }

    /// "Your pledge has ended" to every active patron of `campaign`, whose
    /// creator's account is closing.
    pub(crate) async fn mail_pledges_ended_in(
        &self,
        tx: &mut Tx,
        campaign: &CampaignRow,
    ) -> Result<(), ServiceError> {
        let Some(creator) = users::user_by_id(tx, campaign.creator_id).await? else {
            return Ok(());
        };
        let name = page_name(campaign, &creator);
        let now = self.clock.now();
        let patrons =
            emails::active_patron_recipients(tx, campaign.id, EmailKind::PledgeEnded).await?;
        let mut written = Vec::with_capacity(patrons.len());
        for patron in &patrons {
            let letter = messages::pledge_ended(
                &patron.first_name,
                &name,
                "the creator closed their page, so you will not be charged for it again",
                &self.mail.link("/panel"),
            );
            written.push(self.new_email(
                patron.user_id,
                &patron.email,
                EmailKind::PledgeEnded,
                &letter,
                now,
            )?);
        }
        emails::insert_emails(tx, &written).await?;
        Ok(())
    }

    async fn pledge_parties(
        &self,
        tx: &mut Tx,
        pledge: &PledgeRow,
    ) -> Result<Option<(UserRow, CampaignRow, UserRow)>, ServiceError> {
        let Some(patron) = users::user_by_id(tx, pledge.patron_id).await? else {
            return Ok(None);
        };
        let Some(campaign) = campaigns::campaign_by_id(tx, pledge.campaign_id).await? else {
            return Ok(None);
        };
        let Some(creator) = users::user_by_id(tx, campaign.creator_id).await? else {
            return Ok(None);
        };
        Ok(Some((patron, campaign, creator)))
    }

    /// "New patron" to the creator of `campaign`, from what the pledge's
    /// transaction already read.
    pub(crate) async fn mail_new_patron_in(
        &self,
        tx: &mut Tx,
        patron: UserId,
        campaign: &CampaignRow,
        tier: Option<&str>,
        amount_minor: i64,
    ) -> Result<(), ServiceError> {
        let people = users::users_by_ids(tx, &[patron, campaign.creator_id]).await?;
        let (Some(patron), Some(creator)) = (
            people.iter().find(|u| u.id == patron),
            people.iter().find(|u| u.id == campaign.creator_id),
        ) else {
            return Ok(());
        };
        let amount = money(amount_minor, &campaign.currency);
        let letter = messages::new_patron(
            &creator.first_name,
            &patron.public_name(),
            &if campaign.is_monthly {
                format!("{amount} a month")
            } else {
                let per = campaign.pay_per_name.as_deref().unwrap_or("creation");
                format!("{amount} per {per}")
            },
            tier,
            &self.mail.link("/dashboard/patrons"),
        );
        enqueue(self, tx, creator, EmailKind::NewPatron, &letter).await?;
        Ok(())
    }

    /// "You cancelled" to the patron, "a patron cancelled" to the creator.
    pub(crate) async fn mail_pledge_cancelled_in(
        &self,
        tx: &mut Tx,
        pledge: &PledgeRow,
    ) -> Result<(), ServiceError> {
        let Some((patron, campaign, creator)) = self.pledge_parties(tx, pledge).await? else {
            return Ok(());
        };
        let name = page_name(&campaign, &creator);
        let to_patron =
            messages::pledge_cancelled(&patron.first_name, &name, &self.mail.link("/panel"));
        enqueue(self, tx, &patron, EmailKind::PledgeCancelled, &to_patron).await?;
        let to_creator = messages::patron_cancelled(
            &creator.first_name,
            &patron.public_name(),
            &self.mail.link("/dashboard/patrons"),
        );
        enqueue(self, tx, &creator, EmailKind::PatronCancelled, &to_creator).await?;
        Ok(())
    }
}
