//! The project stands alone: the README and every document under `docs/`
//! link only to files of this repository (which exist) or to paths of the
//! server itself, never outside the checkout.

use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn documents(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    let mut folders = vec![root.join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn readme_and_docs_link_nothing_outside_the_repository() {
    let root = repository();
    let mut links = 0;
    for document in documents(&root) {
        let text = std::fs::read_to_string(&document).unwrap();
        let name = document.strip_prefix(&root).unwrap().display().to_string();
        for event in Parser::new(&text) {
            let (Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. })) = event
            else {
                continue;
            };
            links += 1;
            let target = dest_url.split('#').next().unwrap();
            assert!(
                !target.contains("://")
                    && !target.starts_with("//")
                    && !target.starts_with("mailto:"),
                "{name} links outside the repository: {dest_url}"
            );
            if target.is_empty() || target.starts_with('/') {
                continue; // an anchor, or a page of the server (the /docs pages)
            }
            let file = document.parent().unwrap().join(target);
            let file = file
                .canonicalize()
                .unwrap_or_else(|_| panic!("{name} links {dest_url}, which does not exist"));
            assert!(
                file.starts_with(&root),
                "{name} links {dest_url}, outside the repository"
            );
        }
    }
    assert!(
        links > 10,
        "found only {links} links: is the parser reading the files?"
    );
}
