//! The page frame, the navigation and the one small stylesheet.

use maecenas_services::records::UserRow;
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1f3a93;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header nav{display:flex;flex-wrap:wrap;gap:.3rem .9rem;align-items:center;margin-left:auto}
header form{margin:0}header button{margin:0;padding:.2rem .6rem;font-size:.9rem;background:#fff3;color:#fff}
main{max-width:46rem;margin:1.5rem auto;padding:0 1rem}.card{background:#fff;border-radius:10px;padding:1.5rem;box-shadow:0 1px 3px #0002;margin-bottom:1rem}
main.wide{max-width:64rem}
label{display:block;font-weight:600;margin-top:1rem}input,textarea{width:100%;padding:.6rem;font:inherit;border:1px solid #b8bfd0;border-radius:6px}
textarea{min-height:6rem}
button,.button{display:inline-block;margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:6px;background:#1f3a93;color:#fff;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#e4e7f0;color:#1d2330}button.danger{background:#a4161a}
.inline{display:inline}.inline button{margin:.2rem .3rem .2rem 0;padding:.3rem .7rem;font-size:.9rem}
.error{color:#a4161a;background:#fde8e8;padding:.6rem;border-radius:6px}.field-error{color:#a4161a;font-size:.9rem;margin:.2rem 0 0}
.notice{background:#e6f4ea;color:#1e4620;padding:.6rem;border-radius:6px}
.muted{color:#5b6375;font-size:.9rem}ul.scopes li{margin:.3rem 0}code{word-break:break-all}
label.check{font-weight:400;margin-top:.4rem}label.check input{width:auto}fieldset{border:1px solid #d6dae6;border-radius:6px;margin-top:1rem}
table{width:100%;border-collapse:collapse;font-size:.9rem}td,th{text-align:left;padding:.35rem;border-bottom:1px solid #e4e7f0;vertical-align:top}
.table-wrap{overflow-x:auto}
select{padding:.5rem;font-size:1rem;width:100%}dt{font-weight:600;margin-top:.5rem}dd{margin-left:0}
.tiers{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:1rem}.tier{border:1px solid #d6dae6;border-radius:8px;padding:1rem}
.price{font-size:1.3rem;font-weight:700}.progress{background:#e4e7f0;border-radius:6px;height:.7rem;overflow:hidden}.progress span{display:block;height:100%;background:#2e7d32}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.8rem}.stat{background:#f6f7fb;border-radius:8px;padding:.7rem}.stat b{display:block;font-size:1.2rem}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.8rem;background:#e4e7f0}.badge.bad{background:#fde8e8;color:#a4161a}.badge.good{background:#e6f4ea;color:#1e4620}
pre{background:#1d2330;color:#f6f7fb;padding:.8rem;border-radius:6px;overflow-x:auto;font-size:.85rem}pre code{word-break:normal}
.avatar{width:72px;height:72px;border-radius:50%;object-fit:cover;background:#e4e7f0}
article.post{margin:.6rem 0 1.6rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
form.search{display:flex;gap:.5rem;align-items:center}form.search button{margin:0}
ul.directory{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:.8rem}
li.creator{display:flex;gap:.8rem;align-items:center;border:1px solid #d6dae6;border-radius:8px;padding:.8rem}li.creator .avatar{width:56px;height:56px;flex:none}
.cover{display:block;width:100%;max-height:16rem;object-fit:cover;border-radius:10px 10px 0 0;margin:-1.5rem -1.5rem 1rem;width:calc(100% + 3rem);max-width:none}
"#;

/// Who is looking at a page: the header's links depend on it.
pub struct Viewer<'a> {
    pub user: &'a UserRow,
    pub csrf: &'a str,
}

/// A page for someone who is not signed in.
pub fn page(title: &str, body: Markup) -> Markup {
    frame(title, None, false, html! { div.card { (body) } })
}

/// A page for a signed-in user, the body in one card.
pub fn user_page(viewer: &Viewer<'_>, title: &str, body: Markup) -> Markup {
    frame(title, Some(viewer), false, html! { div.card { (body) } })
}

/// A page of several cards (the body brings its own), wider for tables.
pub fn wide_page(viewer: Option<&Viewer<'_>>, title: &str, body: Markup) -> Markup {
    frame(title, viewer, true, body)
}

fn frame(title: &str, viewer: Option<&Viewer<'_>>, wide: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Maecenas" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" { "Maecenas" }
                    nav aria-label="Main" {
                        @match viewer {
                            Some(v) => {
                                @if v.user.is_creator { a href="/dashboard" { "Dashboard" } }
                                a href="/feed" { "Feed" }
                                a href="/panel" { "My sponsorships" }
                                a href="/settings" { "Settings" }
                                a href="/developers/clients" { "Developers" }
                                @if v.user.is_admin { a href="/admin/users" { "Admin" } }
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button type="submit" { "Log out" }
                                }
                            }
                            None => {
                                a href="/docs" { "API docs" }
                                a href="/login" { "Log in" }
                                a href="/signup" { "Sign up" }
                            }
                        }
                    }
                }
                main class=[wide.then_some("wide")] { (body) }
            }
        }
    }
}
