//! `StripeGateway` against localstripe (a fake Stripe from PyPI). Each test
//! starts its own localstripe on a free port and kills it when done.
//!
//! The binary is `$MAECENAS_LOCALSTRIPE`, else `target/pyenv/bin/localstripe`
//! under the workspace root, which `scripts/test` installs. Without it these
//! tests fail and say so: they never skip quietly.

use maecenas_testkit::localstripe::{LocalStripe, SECRET_KEY, free_port};

use maecenas_services::billing::{
    CardInput, ChargeOutcome, ChargeRequest, GatewayError, Lookup, PayoutRequest, StripeGateway,
};

const GOOD: &str = "4242424242424242";
const DECLINED_AT_ATTACH: &str = "4000000000000002";
const INSUFFICIENT_AT_ATTACH: &str = "4000000000009995";
const DECLINED_WHEN_CHARGED: &str = "4000000000000341";

fn gateway(stripe: &LocalStripe) -> StripeGateway {
    StripeGateway::new(SECRET_KEY.to_owned(), stripe.api_base()).expect("gateway")
}

fn card(number: &str) -> CardInput {
    CardInput {
        number: number.to_owned(),
        exp_month: 12,
        exp_year: 2034,
        cvc: "123".to_owned(),
    }
}

fn charge(payment_method_ref: &str, reference: &str, key: &str) -> ChargeRequest {
    ChargeRequest {
        idempotency_key: key.to_owned(),
        reference: reference.to_owned(),
        payment_method_ref: payment_method_ref.to_owned(),
        amount_minor: 1500,
        currency: "EUR".to_owned(),
    }
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{nanos}_{}", N.fetch_add(1, Ordering::Relaxed))
}

/// No message may carry the secret key or a card number.
fn assert_clean(text: &str) {
    assert!(!text.contains(SECRET_KEY), "secret key leaked: {text}");
    assert!(
        !text.contains("maecenasLocalstripeSecret"),
        "secret key leaked: {text}"
    );
    for number in [
        GOOD,
        DECLINED_AT_ATTACH,
        INSUFFICIENT_AT_ATTACH,
        DECLINED_WHEN_CHARGED,
    ] {
        assert!(!text.contains(number), "card number leaked: {text}");
    }
}

fn assert_outcome_clean(outcome: &ChargeOutcome) {
    assert_clean(&format!("{outcome:?}"));
}

fn assert_error_clean(error: &GatewayError) {
    assert_clean(&format!("{error:?}"));
    assert_clean(&error.to_string());
}

#[tokio::test]
async fn a_good_card_is_charged_and_found_by_its_reference() {
    let stripe = LocalStripe::start();
    let gateway = gateway(&stripe);

    let attached = gateway
        .attach_card(&card(GOOD), "patron@example.com")
        .await
        .expect("attach 4242");
    let (customer, method) = attached.gateway_ref.split_once(':').expect("cus:pm");
    assert!(
        customer.starts_with("cus_") && method.starts_with("pm_"),
        "{attached:?}"
    );
    assert_eq!(
        (attached.brand.as_str(), attached.last4.as_str()),
        ("visa", "4242")
    );
    assert_eq!((attached.exp_month, attached.exp_year), (12, 2034));
    assert_clean(&format!("{attached:?}"));

    let reference = unique("charge");
    let key = unique("key");
    let outcomes = gateway
        .charge_many(&[charge(&attached.gateway_ref, &reference, &key)])
        .await;
    assert_eq!(outcomes.len(), 1);
    let ChargeOutcome::Succeeded { payment_ref } = &outcomes[0] else {
        panic!("expected a success, got {outcomes:?}");
    };
    assert!(payment_ref.starts_with("pi_"), "{payment_ref}");

    let found = gateway.lookup(&reference).await.expect("lookup");
    assert_eq!(
        found,
        Lookup::Succeeded {
            payment_ref: payment_ref.clone()
        }
    );
}

#[tokio::test]
async fn declined_cards_are_refused_at_attach() {
    let stripe = LocalStripe::start();
    let gateway = gateway(&stripe);

    for number in [DECLINED_AT_ATTACH, INSUFFICIENT_AT_ATTACH] {
        let error = gateway
            .attach_card(&card(number), "patron@example.com")
            .await
            .expect_err("declined at attach");
        let GatewayError::Card { code, message } = &error else {
            panic!(
                "expected a card error for ****{}, got {error:?}",
                &number[12..]
            );
        };
        assert_eq!(code, "card_declined");
        assert!(!message.is_empty());
        assert_error_clean(&error);
    }

    // A number localstripe cannot parse is the patron's mistake too.
    let error = gateway
        .attach_card(&card("42424242424242"), "patron@example.com")
        .await
        .expect_err("bad number");
    assert!(matches!(error, GatewayError::Card { .. }), "{error:?}");
    assert!(!format!("{error:?}").contains("42424242424242"));
}

#[tokio::test]
async fn a_card_declined_when_charged_is_declined_and_looked_up_as_failed() {
    let stripe = LocalStripe::start();
    let gateway = gateway(&stripe);

    let attached = gateway
        .attach_card(&card(DECLINED_WHEN_CHARGED), "patron@example.com")
        .await
        .expect("0341 attaches");
    assert_eq!(attached.last4, "0341");

    let reference = unique("charge");
    let first_key = unique("key");
    let outcomes = gateway
        .charge_many(&[charge(&attached.gateway_ref, &reference, &first_key)])
        .await;
    let [ChargeOutcome::Declined { code, message }] = outcomes.as_slice() else {
        panic!("expected a decline, got {outcomes:?}");
    };
    assert_eq!(code, "card_declined");
    assert!(!message.is_empty());
    assert_outcome_clean(&outcomes[0]);

    let found = gateway.lookup(&reference).await.expect("lookup");
    let Lookup::Failed {
        keys,
        code,
        message,
    } = &found
    else {
        panic!("expected a failure, got {found:?}");
    };
    assert_eq!(keys, &vec![first_key.clone()]);
    assert_eq!(code, "card_declined");
    assert!(!message.is_empty());

    // A second attempt under a new key: both keys come back, oldest first.
    let second_key = unique("key");
    let outcomes = gateway
        .charge_many(&[charge(&attached.gateway_ref, &reference, &second_key)])
        .await;
    assert!(
        matches!(outcomes[0], ChargeOutcome::Declined { .. }),
        "{outcomes:?}"
    );
    let Lookup::Failed { keys, .. } = gateway.lookup(&reference).await.expect("lookup") else {
        panic!("expected a failure");
    };
    assert_eq!(keys, vec![first_key, second_key]);
}

#[tokio::test]
async fn many_charges_keep_their_order() {
    let stripe = LocalStripe::start();
    let gateway = gateway(&stripe);
    let good = gateway
        .attach_card(&card(GOOD), "a@example.com")
        .await
        .expect("attach good");
    let bad = gateway
        .attach_card(&card(DECLINED_WHEN_CHARGED), "b@example.com")
        .await
        .expect("attach 0341");

    // More than the 8 in flight at once, plus one that never leaves.
    let mut requests: Vec<ChargeRequest> = (0..11)
        .map(|i| {
            let method = if i % 3 == 1 {
                &bad.gateway_ref
            } else {
                &good.gateway_ref
            };
            charge(method, &unique(&format!("charge{i}")), &unique("key"))
        })
        .collect();
    requests.push(charge(
        "pm_without_customer",
        &unique("charge"),
        &unique("key"),
    ));
    let outcomes = gateway.charge_many(&requests).await;
    assert_eq!(outcomes.len(), requests.len());
    for (i, outcome) in outcomes.iter().enumerate().take(11) {
        if i % 3 == 1 {
            assert!(
                matches!(outcome, ChargeOutcome::Declined { .. }),
                "#{i}: {outcome:?}"
            );
        } else {
            assert!(
                matches!(outcome, ChargeOutcome::Succeeded { .. }),
                "#{i}: {outcome:?}"
            );
        }
    }
    assert!(
        matches!(&outcomes[11], ChargeOutcome::Declined { code, .. } if code == "invalid_payment_method"),
        "{:?}",
        outcomes[11]
    );

    // Each success is found under its own reference.
    for (request, outcome) in requests.iter().zip(&outcomes).take(11) {
        if let ChargeOutcome::Succeeded { payment_ref } = outcome {
            assert_eq!(
                gateway.lookup(&request.reference).await.expect("lookup"),
                Lookup::Succeeded {
                    payment_ref: payment_ref.clone()
                }
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_reference_is_not_found() {
    let stripe = LocalStripe::start();
    let gateway = gateway(&stripe);
    // Something to page past.
    let attached = gateway
        .attach_card(&card(GOOD), "patron@example.com")
        .await
        .expect("attach");
    let outcomes = gateway
        .charge_many(&[charge(
            &attached.gateway_ref,
            &unique("charge"),
            &unique("key"),
        )])
        .await;
    assert!(
        matches!(outcomes[0], ChargeOutcome::Succeeded { .. }),
        "{outcomes:?}"
    );

    assert_eq!(
        gateway.lookup(&unique("nobody")).await.expect("lookup"),
        Lookup::NotFound
    );
    assert_eq!(
        gateway.lookup("it's \\ odd").await.expect("lookup"),
        Lookup::NotFound
    );
}

#[tokio::test]
async fn a_dead_gateway_leaves_charges_unknown() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let gateway = StripeGateway::new(SECRET_KEY.to_owned(), dead).expect("gateway");

    let requests = [
        charge("cus_a:pm_a", &unique("charge"), &unique("key")),
        charge("cus_b:pm_b", &unique("charge"), &unique("key")),
    ];
    let outcomes = gateway.charge_many(&requests).await;
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert!(
            matches!(outcome, ChargeOutcome::Unknown { .. }),
            "{outcome:?}"
        );
        assert_outcome_clean(outcome);
    }

    let error = gateway.lookup("anything").await.expect_err("no gateway");
    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert_error_clean(&error);

    let error = gateway
        .attach_card(&card(GOOD), "patron@example.com")
        .await
        .expect_err("no gateway");
    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert_error_clean(&error);

    let error = gateway
        .payout(&PayoutRequest {
            idempotency_key: unique("key"),
            reference: unique("payout"),
            amount_minor: 100,
            currency: "eur".into(),
        })
        .await
        .expect_err("no gateway");
    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert_error_clean(&error);
}

#[tokio::test]
async fn a_wrong_key_is_unavailable_not_a_decline() {
    let stripe = LocalStripe::start();
    // localstripe takes any sk_test_ key; this one is not.
    let gateway = StripeGateway::new("nope_maecenasLocalstripeSecret".into(), stripe.api_base())
        .expect("gateway");
    let error = gateway
        .attach_card(&card(GOOD), "patron@example.com")
        .await
        .expect_err("unauthorized");
    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert_error_clean(&error);
    let outcomes = gateway.charge_many(&[charge("cus_a:pm_a", "r", "k")]).await;
    assert!(
        matches!(outcomes[0], ChargeOutcome::Unknown { .. }),
        "{outcomes:?}"
    );
    assert_outcome_clean(&outcomes[0]);
}

#[tokio::test]
async fn a_payout_in_eur_is_made() {
    let stripe = LocalStripe::start();
    let gateway = gateway(&stripe);
    let id = gateway
        .payout(&PayoutRequest {
            idempotency_key: unique("key"),
            reference: unique("payout"),
            amount_minor: 2500,
            currency: "EUR".into(),
        })
        .await
        .expect("payout");
    assert!(id.starts_with("po_"), "{id}");

    // localstripe pays out only in euros; a refusal is not an outage.
    let error = gateway
        .payout(&PayoutRequest {
            idempotency_key: unique("key"),
            reference: unique("payout"),
            amount_minor: 2500,
            currency: "usd".into(),
        })
        .await
        .expect_err("usd payout");
    assert!(matches!(error, GatewayError::Unsupported(_)), "{error:?}");
    assert_error_clean(&error);
}

/// Billing awaits the gateway inside futures that must be `Send` (spawned
/// tasks, HTTP handlers); a compile-time check.
#[allow(dead_code)]
fn gateway_futures_are_send(
    gateway: std::sync::Arc<StripeGateway>,
    card: CardInput,
    requests: Vec<ChargeRequest>,
    payout: PayoutRequest,
) {
    fn assert_send<T: Send + 'static>(_: T) {}
    assert_send(async move {
        let _ = gateway.attach_card(&card, "patron@example.com").await;
        let _ = gateway.charge_many(&requests).await;
        let _ = gateway.lookup("reference").await;
        let _ = gateway.payout(&payout).await;
    });
}
