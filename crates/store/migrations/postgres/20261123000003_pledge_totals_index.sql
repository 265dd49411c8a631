-- Campaign totals (patron count, pledge sum, patrons per tier) read only this
-- index: current, active pledges of one campaign with what the sums need.
CREATE INDEX pledges_campaign_current ON pledges (campaign_id, tier_id, amount_minor)
    WHERE ended_at IS NULL AND status = 'active';
