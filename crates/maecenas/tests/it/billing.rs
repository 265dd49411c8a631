//! The billing rules, each on SQLite and PostgreSQL: the server's own use
//! cases with its clock moved by hand, the answers checked through the
//! Sponsus API over HTTP and against the ledger's invariants.

use maecenas_domain::{BillingPeriod, CampaignId};
use maecenas_services::accounts::NewAccount;
use maecenas_services::billing::{
    CardInput, NewDonationRequest, NewPledgeRequest, Quiet, TestGatewayFault,
};
use maecenas_services::records::{CampaignRow, UserRow};
use rstest::rstest;
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::{Backend, TestApp};

const VISA: &str = "4242424242424242";
const DECLINES_WHEN_CHARGED: &str = "4000000000000341";
const INSUFFICIENT_FUNDS: &str = "4000000000009995";

fn card(number: &str) -> CardInput {
    CardInput {
        number: number.into(),
        exp_month: 12,
        exp_year: 2034,
        cvc: "123".into(),
    }
}

struct Shop {
    app: TestApp,
    creator: UserRow,
    campaign: CampaignRow,
    api_key: String,
    patrons: usize,
}

impl Shop {
    async fn open(backend: Backend, monthly: bool, at: OffsetDateTime) -> Shop {
        Self::open_with(backend, monthly, at, |_| {}).await
    }

    async fn open_with(
        backend: Backend,
        monthly: bool,
        at: OffsetDateTime,
        configure: impl FnOnce(&mut maecenas::Config),
    ) -> Shop {
        let app = TestApp::spawn_with(backend, configure).await;
        app.clock.set(at);
        let creator = app
            .services
            .create_user(NewAccount {
                email: "creator@shop.test".into(),
                password: "correct horse".into(),
                username: Some("shopkeeper".into()),
                is_creator: true,
                ..NewAccount::default()
            })
            .await
            .unwrap();
        let campaign = app
            .services
            .create_campaign(creator.id, "USD", monthly, Some("A shop".into()))
            .await
            .unwrap();
        let api_key = app
            .services
            .create_api_key("creator@shop.test", "billing tests")
            .await
            .unwrap()
            .plaintext
            .plaintext
            .clone();
        Shop {
            app,
            creator,
            campaign,
            api_key,
            patrons: 0,
        }
    }

    async fn patron(&mut self) -> UserRow {
        self.patrons += 1;
        self.app
            .services
            .create_user(NewAccount {
                email: format!("patron{}@shop.test", self.patrons),
                password: "correct horse".into(),
                ..NewAccount::default()
            })
            .await
            .unwrap()
    }

    async fn pledge(
        &self,
        patron: &UserRow,
        amount: i64,
        number: &str,
    ) -> maecenas_services::billing::PledgeReceipt {
        self.app
            .services
            .create_pledge(NewPledgeRequest {
                patron: patron.id,
                campaign: self.campaign.id,
                amount_minor: amount,
                tier: None,
                card: Some(card(number)),
                patron_pays_fees: false,
                pledge_cap_minor: None,
                vat_country: None,
                shipping: None,
            })
            .await
            .unwrap()
    }

    /// `GET /v1/payments/{patron}/sponsoring` with the creator's key.
    async fn sponsoring(&self, patron: &UserRow) -> (u16, Value) {
        let res = self
            .app
            .http
            .get(
                self.app
                    .url(&format!("/v1/payments/{}/sponsoring", patron.id)),
            )
            .header("Authorization", &self.api_key)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn run(&self) -> maecenas_services::billing::RunReport {
        self.app.services.run_billing(None, &Quiet).await.unwrap()
    }

    async fn balance(&self) -> i64 {
        balance(&self.app, self.campaign.id).await
    }

    async fn assert_ledger_ok(&self) {
        let broken = self.app.services.verify_ledger().await.unwrap();
        assert!(broken.is_empty(), "ledger invariants broken: {broken:?}");
    }

    async fn charges(&self, patron: &UserRow) -> Vec<maecenas_services::records::ChargeRow> {
        self.app
            .services
            .charges_of_patron(patron.id, 100)
            .await
            .unwrap()
    }
}

async fn balance(app: &TestApp, campaign: CampaignId) -> i64 {
    app.services
        .creator_balance(campaign)
        .await
        .unwrap()
        .iter()
        .map(|b| b.amount_minor)
        .sum()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_new_pledge_is_paid_at_once_and_renews_on_the_first_across_a_leap_day(
    #[case] backend: Backend,
) {
    let mut shop = Shop::open(backend, true, datetime!(2028-02-29 22:00 UTC)).await;
    let patron = shop.patron().await;
    let receipt = shop.pledge(&patron, 500, VISA).await;
    let charge = receipt.charge.expect("a monthly pledge is charged at once");
    assert_eq!(charge.status, "succeeded");
    assert_eq!(
        charge.period.as_deref(),
        Some("2028-02"),
        "the 29th is in February of a leap year"
    );
    assert_eq!(
        (
            charge.amount_minor,
            charge.gateway_fee_minor,
            charge.platform_fee_minor,
            charge.creator_net_minor
        ),
        (500, 45, 25, 430),
        "2.9% + 30 to the gateway, 5% to the platform"
    );
    let (status, body) = shop.sponsoring(&patron).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sponsorship"]["has_paid"], true, "{body}");
    assert_eq!(body["sponsorship"]["is_active"], true);

    // Running again in the same month charges nobody twice.
    let again = shop.run().await;
    assert_eq!((again.planned, again.succeeded), (0, 0));

    // One second before midnight UTC it is still February...
    shop.app.clock.set(datetime!(2028-02-29 23:59:59 UTC));
    assert_eq!(shop.run().await.planned, 0);
    // ...and at midnight the pledge renews for March.
    shop.app.clock.set(datetime!(2028-03-01 00:00:00 UTC));
    let march = shop.run().await;
    assert_eq!((march.planned, march.succeeded), (1, 1), "{march:?}");
    assert_eq!(march.collected.get("USD"), Some(&500));
    let charges = shop.charges(&patron).await;
    let periods: Vec<_> = charges.iter().map(|c| c.period.clone().unwrap()).collect();
    assert_eq!(periods, ["2028-03", "2028-02"]);
    assert_eq!(
        shop.balance().await,
        860,
        "two months of 430 are owed to the creator"
    );
    assert!(shop.sponsoring(&patron).await.1["sponsorship"]["has_paid"] == true);
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_patron_who_covers_the_fees_gives_the_creator_the_whole_pledge(#[case] backend: Backend) {
    let mut shop = Shop::open(backend, true, datetime!(2027-06-10 12:00 UTC)).await;
    let patron = shop.patron().await;
    let receipt = shop
        .app
        .services
        .create_pledge(NewPledgeRequest {
            patron: patron.id,
            campaign: shop.campaign.id,
            amount_minor: 1_000,
            tier: None,
            card: Some(card(VISA)),
            patron_pays_fees: true,
            pledge_cap_minor: None,
            vat_country: Some("DE".into()),
            shipping: None,
        })
        .await
        .unwrap();
    let charge = receipt.charge.unwrap();
    assert_eq!(charge.creator_net_minor, 1_000, "{charge:?}");
    assert_eq!(
        charge.amount_minor,
        charge.gateway_fee_minor + charge.platform_fee_minor + charge.creator_net_minor
    );
    // 1000 + fees: the least gross whose 2.9% + 30 + 5% leaves 1000.
    assert_eq!(charge.amount_minor, 1_118);
    assert_eq!(shop.balance().await, 1_000);
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_declined_card_is_retried_on_days_1_3_5_7_then_the_pledge_is_declined_until_a_new_card_pays(
    #[case] backend: Backend,
) {
    let start = datetime!(2026-11-03 09:00 UTC);
    let mut shop = Shop::open(backend, true, start).await;
    let patron = shop.patron().await;
    let paying = shop.patron().await;
    shop.pledge(&paying, 300, VISA).await;
    let receipt = shop.pledge(&patron, 500, DECLINES_WHEN_CHARGED).await;
    let charge = receipt.charge.unwrap();
    assert_eq!((charge.status.as_str(), charge.attempts), ("retrying", 1));
    assert_eq!(charge.failure_code.as_deref(), Some("card_declined"));
    assert_eq!(charge.next_attempt_at, start + Duration::days(1));
    assert_eq!(
        shop.sponsoring(&patron).await.1["sponsorship"]["has_paid"],
        false
    );

    // Not before its time...
    shop.app
        .clock
        .set(start + Duration::days(1) - Duration::seconds(1));
    assert_eq!(shop.run().await.retrying, 0);
    // ...then on days 1, 3, 5 and 7 after the first failure, each its own attempt.
    for (day, attempt) in [(1, 2), (3, 3), (5, 4)] {
        shop.app.clock.set(start + Duration::days(day));
        let report = shop.run().await;
        assert_eq!(report.retrying, 1, "day {day}: {report:?}");
        let c = &shop.charges(&patron).await[0];
        assert_eq!(c.attempts, attempt, "day {day}");
        assert_eq!(c.status, "retrying");
    }
    shop.app.clock.set(start + Duration::days(7));
    let last = shop.run().await;
    assert_eq!(last.declined, 1, "{last:?}");
    let c = &shop.charges(&patron).await[0];
    assert_eq!((c.status.as_str(), c.attempts), ("failed", 5));
    // Declined: not paid, not counted, not entitled.
    let store = shop.app.db().store().await;
    let mut tx = store.read().await.unwrap();
    let pledge = maecenas_store::pledges::pledge_by_id(&mut tx, receipt.pledge.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pledge.status, "declined");
    let totals = maecenas_store::campaigns::campaign_totals(&mut tx, shop.campaign.id)
        .await
        .unwrap();
    assert_eq!(
        (totals.patron_count, totals.pledge_sum_minor),
        (1, 300),
        "the declined pledge does not count"
    );
    drop(tx);
    // Every attempt had its own idempotency key at the gateway.
    let mut tx = store.read().await.unwrap();
    let ops = maecenas_store::test_gateway::by_reference(&mut tx, &format!("charge:{}", c.id))
        .await
        .unwrap();
    let keys: std::collections::BTreeSet<_> =
        ops.iter().map(|o| o.idempotency_key.clone()).collect();
    assert_eq!((ops.len(), keys.len()), (5, 5));
    drop(tx);

    // A new card is tried at once, and the pledge is active again.
    let report = shop
        .app
        .services
        .update_card(patron.id, card(VISA))
        .await
        .unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let (_, body) = shop.sponsoring(&patron).await;
    assert_eq!(body["sponsorship"]["has_paid"], true, "{body}");
    assert_eq!(body["sponsorship"]["is_active"], true, "{body}");
    assert_eq!(
        shop.balance().await,
        430 + 300 - 39 - 15,
        "both months' nets"
    );
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_card_updated_during_retries_is_charged_at_once(#[case] backend: Backend) {
    let mut shop = Shop::open(backend, true, datetime!(2026-12-30 10:00 UTC)).await;
    let patron = shop.patron().await;
    let receipt = shop.pledge(&patron, 800, INSUFFICIENT_FUNDS).await;
    assert_eq!(
        receipt.charge.as_ref().unwrap().failure_code.as_deref(),
        Some("insufficient_funds")
    );
    let report = shop
        .app
        .services
        .update_card(patron.id, card(VISA))
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.retrying), (1, 0));
    let c = &shop.charges(&patron).await[0];
    assert_eq!(
        (c.status.as_str(), c.attempts, c.period.as_deref()),
        ("succeeded", 2, Some("2026-12"))
    );
    // Across the year boundary the renewal is for January, on the new card.
    shop.app.clock.set(datetime!(2027-01-01 00:00:01 UTC));
    let january = shop.run().await;
    assert_eq!(january.succeeded, 1);
    assert_eq!(
        shop.charges(&patron).await[0].period.as_deref(),
        Some("2027-01")
    );
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_cancellation_mid_month_keeps_the_paid_month_then_ends(#[case] backend: Backend) {
    let mut shop = Shop::open(backend, true, datetime!(2027-01-10 08:00 UTC)).await;
    let patron = shop.patron().await;
    shop.pledge(&patron, 500, VISA).await;
    shop.app.clock.set(datetime!(2027-01-20 08:00 UTC));
    let cancelled = shop
        .app
        .services
        .cancel_pledge(patron.id, shop.campaign.id)
        .await
        .unwrap();
    assert_eq!(cancelled.status, "cancelled");
    let (status, body) = shop.sponsoring(&patron).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["sponsorship"]["is_active"], false,
        "cancelled: no longer active"
    );
    assert_eq!(
        body["sponsorship"]["has_paid"], true,
        "the month is paid and runs on"
    );
    // February: no charge, and the pledge has ended.
    shop.app.clock.set(datetime!(2027-02-01 00:00 UTC));
    let february = shop.run().await;
    assert_eq!((february.planned, february.ended), (0, 1), "{february:?}");
    assert_eq!(shop.charges(&patron).await.len(), 1);
    let (status, body) = shop.sponsoring(&patron).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false);
    // Pledging again later is a new pledge, charged at once.
    let again = shop.pledge(&patron, 600, VISA).await;
    assert_eq!(again.charge.unwrap().period.as_deref(), Some("2027-02"));
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn per_creation_pledges_pay_for_paid_creations_up_to_the_cap_when_the_month_closes(
    #[case] backend: Backend,
) {
    let mut shop = Shop::open(backend, false, datetime!(2027-03-02 10:00 UTC)).await;
    let capped = shop.patron().await;
    let uncapped = shop.patron().await;
    let late = shop.patron().await;
    let pledge = |patron: UserRow, cap: Option<i64>| {
        let services = shop.app.services.clone();
        let campaign = shop.campaign.id;
        async move {
            services
                .create_pledge(NewPledgeRequest {
                    patron: patron.id,
                    campaign,
                    amount_minor: 100,
                    tier: None,
                    card: Some(card(VISA)),
                    patron_pays_fees: false,
                    pledge_cap_minor: cap,
                    vat_country: None,
                    shipping: None,
                })
                .await
                .unwrap()
        }
    };
    let first = pledge(capped.clone(), Some(250)).await;
    assert!(
        first.charge.is_none(),
        "per-creation pledges are charged when the month closes"
    );
    pledge(uncapped.clone(), None).await;
    let services = &shop.app.services;
    for (day, paid) in [(5, true), (9, true), (12, false), (20, true)] {
        shop.app
            .clock
            .set(datetime!(2027-03-01 10:00 UTC) + Duration::days(day));
        services
            .publish_creation(shop.campaign.id, &format!("Creation of day {day}"), paid)
            .await
            .unwrap();
        if day == 9 {
            shop.app.clock.advance(Duration::minutes(1));
            pledge(late.clone(), None).await;
        }
    }
    // Mid-month nothing is charged.
    assert_eq!(shop.run().await.planned, 0);
    // The month closes: 3 paid creations; the cap stops the first patron at 250;
    // the late patron pays for the one paid creation after pledging.
    shop.app.clock.set(datetime!(2027-04-01 00:00:05 UTC));
    let close = shop.run().await;
    assert_eq!(
        close.per_creation_period.map(|p| p.to_string()).as_deref(),
        Some("2027-03")
    );
    assert_eq!(close.succeeded, 3, "{close:?}");
    let amount_of = |charges: Vec<maecenas_services::records::ChargeRow>| {
        charges
            .iter()
            .map(|c| (c.period.clone().unwrap(), c.amount_minor))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        amount_of(shop.charges(&capped).await),
        [("2027-03".to_owned(), 250)]
    );
    assert_eq!(
        amount_of(shop.charges(&uncapped).await),
        [("2027-03".to_owned(), 300)]
    );
    assert_eq!(
        amount_of(shop.charges(&late).await),
        [("2027-03".to_owned(), 100)]
    );
    assert_eq!(
        shop.run().await.planned,
        0,
        "a closed month is charged once"
    );
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn donations_are_charged_at_once_and_payouts_empty_the_balance(#[case] backend: Backend) {
    let mut shop = Shop::open(backend, true, datetime!(2026-11-15 12:00 UTC)).await;
    let donor = shop.patron().await;
    let receipt = shop
        .app
        .services
        .donate(NewDonationRequest {
            donor: donor.id,
            campaign: shop.campaign.id,
            amount_minor: 2_000,
            card: Some(card(VISA)),
            message: "Thanks!".into(),
        })
        .await
        .unwrap();
    assert_eq!(receipt.donation.status, "succeeded");
    assert_eq!(receipt.charge.kind, "donation");
    assert!(receipt.donation.active_until.is_some());
    let declined = shop
        .app
        .services
        .donate(NewDonationRequest {
            donor: donor.id,
            campaign: shop.campaign.id,
            amount_minor: 2_000,
            card: Some(card(DECLINES_WHEN_CHARGED)),
            message: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        declined.donation.status, "failed",
        "a donation is not retried"
    );
    assert_eq!(declined.charge.status, "failed");
    let owed = shop.balance().await;
    assert_eq!(owed, 2_000 - 88 - 100);

    let payout = shop
        .app
        .services
        .pay_out(shop.campaign.id, None)
        .await
        .unwrap();
    assert_eq!(payout.paid.len(), 1);
    assert_eq!(payout.paid[0].amount_minor, owed);
    assert_eq!(shop.balance().await, 0);
    let again = shop
        .app
        .services
        .pay_out(shop.campaign.id, None)
        .await
        .unwrap();
    assert!(again.paid.is_empty(), "nothing left to pay");
    // The monthly schedule pays each campaign once per period.
    let patron = shop.patron().await;
    shop.pledge(&patron, 500, VISA).await;
    let period = BillingPeriod::containing(maecenas_services::Clock::now(&shop.app.clock));
    assert_eq!(
        shop.app
            .services
            .pay_out_all(period)
            .await
            .unwrap()
            .paid
            .len(),
        1
    );
    assert_eq!(
        shop.app
            .services
            .pay_out_all(period)
            .await
            .unwrap()
            .paid
            .len(),
        0
    );
    shop.assert_ledger_ok().await;
    let _ = &shop.creator;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_looked_up_not_made_twice(#[case] backend: Backend) {
    let mut shop = Shop::open_with(backend, true, datetime!(2026-11-20 12:00 UTC), |config| {
        config.billing.gateway = maecenas_services::billing::GatewayChoice::Test {
            fault: TestGatewayFault::ErrorAfterCharge(1),
        };
    })
    .await;
    let patron = shop.patron().await;
    let receipt = shop.pledge(&patron, 500, VISA).await;
    let charge = receipt.charge.unwrap();
    assert_eq!(
        charge.status, "pending",
        "the gateway took the money but the answer was lost"
    );
    assert!(
        !shop.sponsoring(&patron).await.1["sponsorship"]["has_paid"]
            .as_bool()
            .unwrap()
    );
    // The next run looks it up at the gateway before anything else.
    let report = shop.run().await;
    assert_eq!((report.recovered, report.succeeded), (1, 1), "{report:?}");
    let store = shop.app.db().store().await;
    let mut tx = store.read().await.unwrap();
    let ops = maecenas_store::test_gateway::by_reference(&mut tx, &format!("charge:{}", charge.id))
        .await
        .unwrap();
    assert_eq!(ops.len(), 1, "charged once at the gateway");
    drop(tx);
    assert_eq!(
        shop.sponsoring(&patron).await.1["sponsorship"]["has_paid"],
        true
    );
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn pledges_are_refused_cleanly_and_leave_nothing_behind(#[case] backend: Backend) {
    let mut shop = Shop::open(backend, true, datetime!(2026-11-20 12:00 UTC)).await;
    let patron = shop.patron().await;
    let other = shop.patron().await;
    let campaign = shop.campaign.id;
    let services = &shop.app.services;
    let tier = services
        .create_tier(
            shop.campaign.id,
            maecenas_services::creators::NewTierRequest {
                title: "Gold".into(),
                description: String::new(),
                amount_minor: 1_000,
                patron_limit: Some(1),
                requires_shipping: false,
            },
        )
        .await
        .unwrap();
    let request = |amount: i64, number: &str| NewPledgeRequest {
        patron: patron.id,
        campaign,
        amount_minor: amount,
        tier: Some(tier.id),
        card: Some(card(number)),
        patron_pays_fees: false,
        pledge_cap_minor: None,
        vat_country: None,
        shipping: None,
    };
    let below = services
        .create_pledge(request(999, VISA))
        .await
        .unwrap_err()
        .to_string();
    assert!(below.contains("at least the tier's price"), "{below}");
    let declined = services
        .create_pledge(request(1_000, "4000000000000002"))
        .await
        .unwrap_err()
        .to_string();
    assert!(declined.contains("declined"), "{declined}");
    let wrong = services
        .create_pledge(request(1_000, "4242424242424241"))
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("incorrect"), "{wrong}");
    assert!(
        shop.charges(&patron).await.is_empty(),
        "nothing half-written"
    );
    let (status, _) = shop.sponsoring(&patron).await;
    assert_eq!(status, 404);
    // The tier's one slot: the first pledge takes it, a second patron is refused.
    services.create_pledge(request(1_000, VISA)).await.unwrap();
    let mut second = request(1_000, VISA);
    second.patron = other.id;
    let full = shop
        .app
        .services
        .create_pledge(second)
        .await
        .unwrap_err()
        .to_string();
    assert!(full.contains("no slot"), "{full}");
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_refund_gives_the_patron_the_gross_and_takes_back_the_creators_share(
    #[case] backend: Backend,
) {
    let mut shop = Shop::open(backend, true, datetime!(2026-11-20 12:00 UTC)).await;
    let patron = shop.patron().await;
    let other = shop.patron().await;
    let charge = shop.pledge(&patron, 500, VISA).await.charge.unwrap();
    shop.pledge(&other, 1_000, VISA).await;
    assert_eq!(shop.balance().await, 430 + 891);
    let refunded = shop.app.services.refund_charge(charge.id).await.unwrap();
    assert_eq!(refunded.status, "refunded");
    assert_eq!(
        shop.balance().await,
        891,
        "the creator gives back exactly what the charge earned"
    );
    assert_eq!(
        shop.sponsoring(&patron).await.1["sponsorship"]["has_paid"],
        false,
        "a refunded month is not paid"
    );
    let twice = shop
        .app
        .services
        .refund_charge(charge.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(twice.contains("only a succeeded charge"), "{twice}");
    // Once the balance is paid out, a refund would leave the creator owing: refused.
    shop.app
        .services
        .pay_out(shop.campaign.id, None)
        .await
        .unwrap();
    let other_charge = shop.charges(&other).await.remove(0);
    let uncovered = shop
        .app
        .services
        .refund_charge(other_charge.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(uncovered.contains("no longer covers"), "{uncovered}");
    // The gateway recorded one refund against the payment.
    let store = shop.app.db().store().await;
    let mut tx = store.read().await.unwrap();
    let ops = maecenas_store::test_gateway::by_reference(
        &mut tx,
        &format!("refund:charge:{}", charge.id),
    )
    .await
    .unwrap();
    assert_eq!(
        (ops.len(), ops[0].kind.as_str(), ops[0].amount_minor),
        (1, "refund", 500)
    );
    drop(tx);
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

fn moderation(suspended: bool, deleted: bool) -> maecenas_services::records::Moderation {
    maecenas_services::records::Moderation {
        is_suspended: suspended,
        is_deleted: deleted,
        is_nuked: false,
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_creator_who_deletes_their_account_is_never_paid_again_and_their_apps_stop(
    #[case] backend: Backend,
) {
    let start = datetime!(2027-01-10 12:00 UTC);
    let mut shop = Shop::open(backend, true, start).await;
    let paying = shop.patron().await;
    let declining = shop.patron().await;
    let paid = shop.pledge(&paying, 500, VISA).await;
    let retrying = shop.pledge(&declining, 700, DECLINES_WHEN_CHARGED).await;
    assert_eq!(paid.charge.as_ref().unwrap().status, "succeeded");
    assert_eq!(retrying.charge.as_ref().unwrap().status, "retrying");
    // An app of the creator's, authorized by a patron.
    let app = shop
        .app
        .services
        .create_oauth_client(maecenas_services::developers::NewClient {
            owner_email: "creator@shop.test".into(),
            name: "Shop app".into(),
            redirect_uris: vec!["https://shop.example/cb".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let patrons_token = shop
        .app
        .services
        .mint_tokens(&app.client.client_id, "patron1@shop.test", "users")
        .await
        .unwrap()
        .access_token;
    let me = |token: String| {
        let http = shop.app.http.clone();
        let url = shop.app.url("/api/oauth2/api/current_user");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(patrons_token.clone()).await, 200);

    // The creator deletes their account through the settings page.
    let browser = crate::support::browser();
    let base = shop.app.url("");
    let logged =
        crate::support::log_in(&browser, &base, "creator@shop.test", "correct horse").await;
    assert_eq!(logged.status(), 303);
    let settings = browser
        .get(shop.app.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::support::hidden(&settings, "csrf").unwrap();
    let deleted = browser
        .post(shop.app.url("/settings/delete"))
        .form(&[("csrf", csrf.as_str()), ("password", "correct horse")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 303, "{}", deleted.text().await.unwrap());

    // Every pledge to them ended; the month paid stays paid.
    let store = shop.app.db().store().await;
    let mut tx = store.read().await.unwrap();
    for receipt in [&paid, &retrying] {
        let pledge = maecenas_store::pledges::pledge_by_id(&mut tx, receipt.pledge.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pledge.status, "cancelled", "{pledge:?}");
        assert!(pledge.cancelled_at.is_some());
    }
    drop(tx);
    assert_eq!(
        me(patrons_token).await,
        401,
        "the creator's app lost its tokens"
    );

    // Past the retries and the next renewal: nobody is charged.
    for day in [1, 3, 5, 7, 22, 30] {
        shop.app.clock.set(start + Duration::days(day));
        let report = shop.run().await;
        assert_eq!(
            (report.planned, report.retrying, report.succeeded),
            (0, 0, 0),
            "day {day}: {report:?}"
        );
    }
    assert_eq!(shop.charges(&paying).await.len(), 1);
    let retried = shop.charges(&declining).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(
        (retried[0].status.as_str(), retried[0].attempts),
        ("failed", 1)
    );
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_suspended_creators_patrons_are_not_charged_until_the_creator_is_reinstated(
    #[case] backend: Backend,
) {
    let start = datetime!(2027-01-10 12:00 UTC);
    let mut shop = Shop::open(backend, true, start).await;
    let paying = shop.patron().await;
    let declining = shop.patron().await;
    shop.pledge(&paying, 500, VISA).await;
    shop.pledge(&declining, 700, DECLINES_WHEN_CHARGED).await;
    shop.app
        .services
        .moderate(shop.creator.id, moderation(true, false))
        .await
        .unwrap();
    // The retry on day 1 and the renewal on February 1st wait.
    for at in [
        start + Duration::days(1),
        datetime!(2027-02-01 00:00:05 UTC),
    ] {
        shop.app.clock.set(at);
        let report = shop.run().await;
        assert_eq!(
            (report.planned, report.retrying, report.succeeded),
            (0, 0, 0),
            "{at}: {report:?}"
        );
    }
    assert_eq!(shop.charges(&paying).await.len(), 1);
    assert_eq!(shop.charges(&declining).await[0].attempts, 1);
    // Reinstated: the month is charged, the retry made.
    shop.app.clock.set(datetime!(2027-02-03 09:00 UTC));
    shop.app
        .services
        .moderate(shop.creator.id, moderation(false, false))
        .await
        .unwrap();
    let report = shop.run().await;
    // February for both (one declines), and January's retry.
    assert_eq!(
        (report.planned, report.succeeded, report.retrying),
        (2, 1, 2),
        "{report:?}"
    );
    let periods: Vec<_> = shop
        .charges(&paying)
        .await
        .iter()
        .map(|c| c.period.clone().unwrap())
        .collect();
    assert_eq!(periods, ["2027-02", "2027-01"]);
    shop.assert_ledger_ok().await;
    shop.app.stop().await;
}
