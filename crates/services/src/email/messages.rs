//! What each e-mail says. Pure: a [`Letter`] is made from what the use case
//! knows, and one function writes it as plain text and as HTML, so that the
//! two parts always say the same thing.

use maud::{DOCTYPE, Markup, html};

/// The platform's name in subjects and signatures.
pub const SITE: &str = "Maecenas";

/// A message before it is written out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    pub subject: String,
    /// "Hello Ada,": the person's name, or nothing.
    pub greeting: Option<String>,
    /// Paragraphs before the button.
    pub lines: Vec<String>,
    /// The one thing to do: (label, absolute link).
    pub action: Option<(String, String)>,
    /// Paragraphs after the button (what to do if it was not you, …).
    pub after: Vec<String>,
    /// Facts shown as a small table (a receipt's amount, date, card).
    pub facts: Vec<(String, String)>,
}

impl Letter {
    fn new(subject: impl Into<String>, name: &str) -> Self {
        let name = name.trim();
        Letter {
            subject: subject.into(),
            greeting: (!name.is_empty()).then(|| name.to_owned()),
            lines: Vec::new(),
            action: None,
            after: Vec::new(),
            facts: Vec::new(),
        }
    }

    fn line(mut self, text: impl Into<String>) -> Self {
        self.lines.push(text.into());
        self
    }

    fn action(mut self, label: &str, link: &str) -> Self {
        self.action = Some((label.to_owned(), link.to_owned()));
        self
    }

    fn after(mut self, text: impl Into<String>) -> Self {
        self.after.push(text.into());
        self
    }

    fn fact(mut self, name: &str, value: impl Into<String>) -> Self {
        self.facts.push((name.to_owned(), value.into()));
        self
    }
}

/// The footer every message ends with: why it came, and (for a kind that can
/// be turned off) the link that turns it off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Footer {
    pub reason: String,
    pub unsubscribe: Option<String>,
    pub settings: String,
}

/// What the outbox keeps of a message until it is sent: a few hundred bytes
/// (a billing run writes one receipt per charge), written out by [`write`]
/// at sending time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub letter: Letter,
    pub footer: Footer,
}

/// The two parts of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub text: String,
    pub html: String,
}

pub fn write(letter: &Letter, footer: &Footer) -> Written {
    Written {
        text: plain_text(letter, footer),
        html: as_html(letter, footer).into_string(),
    }
}

fn plain_text(letter: &Letter, footer: &Footer) -> String {
    let mut out = String::new();
    if let Some(name) = &letter.greeting {
        out.push_str(&format!("Hello {name},\n\n"));
    }
    for line in &letter.lines {
        out.push_str(line);
        out.push_str("\n\n");
    }
    for (name, value) in &letter.facts {
        out.push_str(&format!("{name}: {value}\n"));
    }
    if !letter.facts.is_empty() {
        out.push('\n');
    }
    if let Some((label, link)) = &letter.action {
        out.push_str(&format!("{label}:\n{link}\n\n"));
    }
    for line in &letter.after {
        out.push_str(line);
        out.push_str("\n\n");
    }
    out.push_str(&format!("— {SITE}\n\n-- \n{}\n", footer.reason));
    if let Some(link) = &footer.unsubscribe {
        out.push_str(&format!("Unsubscribe from these e-mails: {link}\n"));
    }
    out.push_str(&format!("All your e-mail settings: {}\n", footer.settings));
    out
}

// Inline styles only: mail programs drop style sheets.
fn as_html(letter: &Letter, footer: &Footer) -> Markup {
    const BODY: &str = "margin:0;padding:24px;background:#f4f1ec;font-family:Helvetica,Arial,sans-serif;color:#1f1d1a;";
    const CARD: &str =
        "max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:28px;";
    const BUTTON: &str = "display:inline-block;background:#1f4e79;color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:bold;";
    const SMALL: &str = "max-width:560px;margin:16px auto 0;font-size:12px;color:#6b665e;";
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { (letter.subject) }
            }
            body style=(BODY) {
                div style=(CARD) {
                    p style="margin:0 0 20px;font-weight:bold;color:#1f4e79;" { (SITE) }
                    @if let Some(name) = &letter.greeting {
                        p { "Hello " (name) "," }
                    }
                    @for line in &letter.lines {
                        p style="line-height:1.5;" { (line) }
                    }
                    @if !letter.facts.is_empty() {
                        table style="border-collapse:collapse;margin:16px 0;" {
                            @for (name, value) in &letter.facts {
                                tr {
                                    td style="padding:4px 16px 4px 0;color:#6b665e;" { (name) }
                                    td style="padding:4px 0;font-weight:bold;" { (value) }
                                }
                            }
                        }
                    }
                    @if let Some((label, link)) = &letter.action {
                        p style="margin:24px 0;" { a href=(link) style=(BUTTON) { (label) } }
                        p style="font-size:13px;color:#6b665e;word-break:break-all;" {
                            "Or open this address: " a href=(link) { (link) }
                        }
                    }
                    @for line in &letter.after {
                        p style="line-height:1.5;color:#4a463f;" { (line) }
                    }
                }
                div style=(SMALL) {
                    p { (footer.reason) }
                    p {
                        @if let Some(link) = &footer.unsubscribe {
                            a href=(link) style="color:#6b665e;" { "Unsubscribe from these e-mails" }
                            " · "
                        }
                        a href=(footer.settings) style="color:#6b665e;" { "E-mail settings" }
                    }
                }
            }
        }
    }
}

pub fn verify_address(name: &str, link: &str) -> Letter {
    Letter::new(format!("Confirm your e-mail address for {SITE}"), name)
        .line(
            "Please confirm that this address is yours. We send receipts, payment notices \
             and password-reset links here.",
        )
        .action("Confirm my address", link)
        .after("The link works for seven days. If you did not make an account, ignore this e-mail: nothing happens without the link.")
}

pub fn password_reset(name: &str, link: &str) -> Letter {
    Letter::new(format!("Reset your {SITE} password"), name)
        .line("Someone (we hope you) asked to reset the password of your account.")
        .action("Choose a new password", link)
        .after("The link works once, for one hour. If you did not ask, ignore this e-mail: your password stays as it is.")
}

/// To the address an account had: it was replaced (by its owner, we hope).
pub fn address_changed(name: &str, new_address: &str) -> Letter {
    Letter::new(format!("Your {SITE} e-mail address was changed"), name)
        .line(format!(
            "The e-mail address of your account was changed to {new_address}. Receipts, \
             notices and password resets go there from now on."
        ))
        .after(
            "If you did not change it, someone else may be using your account: tell the people \
             who run this site at once. This is the last message sent to this address.",
        )
}

/// What a receipt tells of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The creator's page name.
    pub creator: String,
    /// As the currency writes it: "$5.00", "3,00 €".
    pub amount: String,
    /// "your pledge for December 2026", "a one-time gift".
    pub what: String,
    pub date: String,
    /// "Visa ending 4242".
    pub card: String,
    pub reference: String,
}

pub fn receipt(name: &str, payment: &Payment, panel: &str) -> Letter {
    Letter::new(
        format!("Receipt: {} to {}", payment.amount, payment.creator),
        name,
    )
    .line(format!(
        "Thank you for supporting {}. This is your receipt for {}.",
        payment.creator, payment.what
    ))
    .fact("Amount", &payment.amount)
    .fact("To", &payment.creator)
    .fact("Date", &payment.date)
    .fact("Paid with", &payment.card)
    .fact("Reference", &payment.reference)
    .action("See your pledges", panel)
}

pub fn payment_declined(
    name: &str,
    payment: &Payment,
    retry_on: Option<&str>,
    change_card: &str,
) -> Letter {
    let letter = Letter::new(
        format!("Your payment to {} was declined", payment.creator),
        name,
    )
    .line(format!(
        "Your card declined {} for {} ({}).",
        payment.amount, payment.creator, payment.what
    ));
    let letter = match retry_on {
        Some(date) => letter.line(format!(
            "We will try again on {date}. To keep your pledge, check the card or use another one before then."
        )),
        None => letter.line(
            "We have tried for a week and stopped: your pledge is paused until you use another card.",
        ),
    };
    letter
        .fact("Amount", &payment.amount)
        .fact("Card", &payment.card)
        .action("Use another card", change_card)
}

pub fn pledge_cancelled(name: &str, creator: &str, panel: &str) -> Letter {
    Letter::new(format!("You cancelled your pledge to {creator}"), name)
        .line(format!(
            "Your pledge to {creator} is cancelled: you will not be charged for it again."
        ))
        .line("Changed your mind? You can resume it from your pledges, with the same tier.")
        .action("See your pledges", panel)
}

pub fn pledge_ended(name: &str, creator: &str, reason: &str, panel: &str) -> Letter {
    Letter::new(format!("Your pledge to {creator} has ended"), name)
        .line(format!("Your pledge to {creator} has ended: {reason}."))
        .action("See your pledges", panel)
}

pub fn new_patron(
    name: &str,
    patron: &str,
    amount: &str,
    tier: Option<&str>,
    dashboard: &str,
) -> Letter {
    let what = match tier {
        Some(tier) => format!("{patron} joined {tier} with {amount}."),
        None => format!("{patron} now pledges {amount}."),
    };
    Letter::new(format!("New patron: {patron}"), name)
        .line(what)
        .action("See your patrons", dashboard)
}

pub fn patron_cancelled(name: &str, patron: &str, dashboard: &str) -> Letter {
    Letter::new(format!("{patron} cancelled their pledge"), name)
        .line(format!(
            "{patron} cancelled their pledge. They keep access until the end of what they paid for."
        ))
        .action("See your patrons", dashboard)
}

pub fn payout(name: &str, amount: &str, period: &str, dashboard: &str) -> Letter {
    Letter::new(format!("Payout sent: {amount}"), name)
        .line(format!("We paid out {amount}, your earnings of {period}."))
        .fact("Amount", amount)
        .fact("Earnings of", period)
        .action("See your payouts", dashboard)
}

pub fn new_post(name: &str, creator: &str, title: &str, excerpt: &str, link: &str) -> Letter {
    let letter = Letter::new(format!("{creator} posted: {title}"), name).line(format!(
        "{creator} published a new post, \u{201c}{title}\u{201d}."
    ));
    let letter = if excerpt.trim().is_empty() {
        letter
    } else {
        letter.line(excerpt.to_owned())
    };
    letter.action("Read it", link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer(unsubscribe: bool) -> Footer {
        Footer {
            reason: "You get this because you pledge on Maecenas.".into(),
            unsubscribe: unsubscribe.then(|| "https://m.test/email/unsubscribe?token=u".into()),
            settings: "https://m.test/settings/email".into(),
        }
    }

    #[test]
    fn both_parts_carry_the_link_and_the_facts() {
        let letter = receipt(
            "Ada",
            &Payment {
                creator: "Cerulean Studio".into(),
                amount: "$5.00".into(),
                what: "your pledge for December 2026".into(),
                date: "1 December 2026".into(),
                card: "Visa ending 4242".into(),
                reference: "ch_1".into(),
            },
            "https://m.test/panel",
        );
        assert_eq!(letter.subject, "Receipt: $5.00 to Cerulean Studio");
        let written = write(&letter, &footer(true));
        for part in [&written.text, &written.html] {
            assert!(part.contains("Hello Ada,"));
            assert!(part.contains("https://m.test/panel"));
            assert!(part.contains("Visa ending 4242"));
            assert!(part.contains("https://m.test/email/unsubscribe?token=u"));
        }
    }

    #[test]
    fn html_escapes_what_people_typed() {
        let letter = new_patron(
            "Ada",
            "<script>x</script>",
            "$5.00",
            None,
            "https://m.test/d",
        );
        let written = write(&letter, &footer(false));
        assert!(!written.html.contains("<script>"));
        assert!(written.html.contains("&lt;script&gt;"));
        assert!(!written.text.contains("Unsubscribe"));
    }

    #[test]
    fn no_name_no_greeting() {
        let written = write(&password_reset("  ", "https://m.test/r"), &footer(false));
        assert!(!written.text.contains("Hello"));
        assert!(written.text.starts_with("Someone"));
    }
}
