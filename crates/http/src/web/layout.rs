//! The page frame and the one small stylesheet.

use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1f3a93;color:#fff;padding:.75rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:40rem;margin:2rem auto;padding:0 1rem}.card{background:#fff;border-radius:10px;padding:1.5rem;box-shadow:0 1px 3px #0002}
label{display:block;font-weight:600;margin-top:1rem}input{width:100%;padding:.6rem;font-size:1rem;border:1px solid #b8bfd0;border-radius:6px}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:6px;background:#1f3a93;color:#fff;cursor:pointer}
button.secondary{background:#e4e7f0;color:#1d2330}.error{color:#a4161a;background:#fde8e8;padding:.6rem;border-radius:6px}
.muted{color:#5b6375;font-size:.9rem}ul.scopes li{margin:.3rem 0}code{word-break:break-all}
label.check{font-weight:400;margin-top:.4rem}label.check input{width:auto}fieldset{border:1px solid #d6dae6;border-radius:6px;margin-top:1rem}
table{width:100%;border-collapse:collapse;font-size:.9rem}td,th{text-align:left;padding:.35rem;border-bottom:1px solid #e4e7f0;vertical-align:top}
select{padding:.5rem;font-size:1rem}dt{font-weight:600;margin-top:.5rem}dd{margin-left:0}
"#;

pub fn page(title: &str, body: Markup) -> Markup {
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
                header { a href="/" { "Maecenas" } }
                main { div.card { (body) } }
            }
        }
    }
}
