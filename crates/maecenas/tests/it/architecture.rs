//! The layering holds inside each crate too: no module imports a module that
//! imports it back (a parent may use its children, and children their
//! parent). Read from the source, as a reviewer would: every `crate::`,
//! `super::` and `self::` path outside comments and `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments and its unit-test module.
fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// The paths a text names after a `crate::`, `super::` or `self::` start,
/// one per leaf of a `{…}` group, each as its segments.
fn paths_after(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut prefix = Vec::new();
    let mut rest = text;
    loop {
        let (name, after) = identifier(rest);
        if name.is_empty() {
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut start = 0;
                let mut end = group.len();
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            end = i;
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            for tail in paths_after(group[start..i].trim()) {
                                out.push([prefix.clone(), tail].concat());
                            }
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                for tail in paths_after(group[start..end].trim()) {
                    out.push([prefix.clone(), tail].concat());
                }
            } else if !prefix.is_empty() {
                out.push(prefix);
            }
            return out;
        }
        prefix.push(name.to_owned());
        match after.strip_prefix("::") {
            Some(next) => rest = next,
            None => {
                out.push(prefix);
                return out;
            }
        }
    }
}

fn imports(module: &Module, text: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let mut found = BTreeSet::new();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in text.match_indices(start) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let base: Module = match start {
                "crate::" => Vec::new(),
                "super::" => module[..module.len().saturating_sub(1)].to_vec(),
                _ => module.clone(),
            };
            for path in paths_after(&text[at + start.len()..]) {
                let target = (1..=path.len())
                    .rev()
                    .map(|n| [base.clone(), path[..n].to_vec()].concat())
                    .find(|candidate| modules.contains(candidate));
                if let Some(target) = target
                    && &target != module
                    && !module.starts_with(&target)
                    && !target.starts_with(module)
                {
                    found.insert(target);
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut mutual = Vec::new();
    let mut crates = 0;
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        crates += 1;
        let files: BTreeMap<Module, String> = rust_files(&src)
            .into_iter()
            .map(|file| {
                let text = code(&std::fs::read_to_string(&file).unwrap());
                (module_of(&src, &file), text)
            })
            .collect();
        let modules: BTreeSet<Module> = files.keys().cloned().collect();
        let edges: BTreeMap<&Module, BTreeSet<Module>> = files
            .iter()
            .map(|(module, text)| (module, imports(module, text, &modules)))
            .collect();
        for (module, targets) in &edges {
            for target in targets {
                if target > *module && edges.get(target).is_some_and(|back| back.contains(*module))
                {
                    mutual.push(format!(
                        "{}: {} <-> {}",
                        src.parent().unwrap().file_name().unwrap().to_string_lossy(),
                        module.join("::"),
                        target.join("::")
                    ));
                }
            }
        }
    }
    assert!(crates >= 6, "read {crates} crates");
    assert!(
        mutual.is_empty(),
        "modules that import each other: {mutual:#?}"
    );
}

#[test]
fn grouped_and_nested_paths_are_read() {
    let paths = paths_after("billing::{gateway::{CardInput, Lookup}, typed}, other");
    assert_eq!(
        paths,
        vec![
            vec!["billing", "gateway", "CardInput"],
            vec!["billing", "gateway", "Lookup"],
            vec!["billing", "typed"],
        ]
    );
}
