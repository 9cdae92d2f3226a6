//! The handouts' translations (labs/pt-BR/) stay honest to their English
//! sources, which remain the reference.
//!
//! Every Markdown file under `labs/pt-BR/` starts with one line naming the
//! English file it translates and the SHA-256 of that file's bytes when it
//! was translated:
//!
//! ```text
//! <!-- source: labs/01-first-stream/README.md sha256:9b40… -->
//! ```
//!
//! Here, for each translation:
//!
//! * the source is the English file at the same place outside `labs/pt-BR/`,
//!   and its hash is still the one recorded (if not, the English changed:
//!   update the translation, then its hash);
//! * its code blocks and hidden checks (fenced blocks with their info
//!   strings, `<!-- ci … -->` comments, the `dissector-view` markers) are
//!   the English ones, byte for byte and in the same order: CI runs only
//!   the English handouts (tests/labs.rs), so a translation shows exactly
//!   what was run;
//! * every relative link resolves to a file, and a link to an English
//!   handout that has a translation points to the translation instead.
//!
//! And every English handout (`labs/*.md`, `labs/NN-name/README.md`) has a
//! translation.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where the translations live, under the repository's root.
const TRANSLATIONS: &str = "labs/pt-BR";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path relative to the repository's root, with `/` between parts.
fn rel(path: &Path) -> String {
    let path = path.strip_prefix(repo()).unwrap_or(path);
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every Markdown file under `dir`, sorted.
fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display()));
        for entry in entries.map(|e| e.expect("a folder entry")) {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The translations, relative to the repository's root.
fn translations() -> Vec<String> {
    markdown_under(&repo().join(TRANSLATIONS))
        .iter()
        .map(|p| rel(p))
        .collect()
}

/// The English handouts: `labs/*.md` and `labs/NN-name/README.md`.
fn english_handouts() -> Vec<String> {
    let labs = repo().join("labs");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&labs).expect("the labs folder") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let numbered = name.len() > 3
            && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[2] == b'-';
        if path.is_file() && name.ends_with(".md") {
            out.push(rel(&path));
        } else if path.is_dir() && numbered && path.join("README.md").is_file() {
            out.push(rel(&path.join("README.md")));
        }
    }
    out.sort();
    out
}

/// The English file a translation mirrors: `labs/pt-BR/X` → `labs/X`.
fn mirrored_source(translation: &str) -> String {
    let tail = translation
        .strip_prefix(TRANSLATIONS)
        .and_then(|t| t.strip_prefix('/'))
        .unwrap_or(translation);
    format!("labs/{tail}")
}

/// The first line's `<!-- source: PATH sha256:HEX -->`, as (PATH, HEX).
fn source_line(text: &str) -> Option<(&str, &str)> {
    let line = text.lines().next()?.trim_end();
    let inner = line.strip_prefix("<!-- source: ")?.strip_suffix(" -->")?;
    let (path, hash) = inner.split_once(" sha256:")?;
    Some((path.trim(), hash.trim()))
}

/// Checks a translation's source line against `source_bytes`, the English
/// file's bytes now (`None` when it cannot be read).
fn check_source(
    translation: &str,
    text: &str,
    source_bytes: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<String, String> {
    let Some((path, recorded)) = source_line(text) else {
        return Err(format!(
            "{translation}: the first line must be `<!-- source: {} sha256:HEX -->`",
            mirrored_source(translation)
        ));
    };
    let expected = mirrored_source(translation);
    if path != expected {
        return Err(format!(
            "{translation}: its source line names {path}, but it mirrors {expected}"
        ));
    }
    let Some(bytes) = source_bytes(path) else {
        return Err(format!("{translation}: its source {path} cannot be read"));
    };
    let now = sha256_hex(&bytes);
    if now != recorded {
        return Err(format!(
            "{translation}: {path} changed since it was translated (sha256 now {now}, \
             recorded {recorded}): update the translation, then its source hash"
        ));
    }
    Ok(path.to_string())
}

/// One fenced block (with its fences and info string), hidden check
/// (`<!-- ci … -->`) or `dissector-view` marker, as it is written.
#[derive(Debug, PartialEq)]
struct Piece {
    text: String,
    line: usize,
}

/// What a translation must keep byte for byte, in order.
fn pieces(markdown: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    // The piece being read, and the line that ends it.
    let mut open: Option<(Piece, &str)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some((piece, end)) = &mut open {
            piece.text.push_str(line);
            piece.text.push('\n');
            if trimmed.starts_with(*end) {
                out.extend(open.take().map(|(p, _)| p));
            }
            continue;
        }
        let piece = || Piece {
            text: format!("{line}\n"),
            line: i + 1,
        };
        if trimmed.starts_with("```") {
            open = Some((piece(), "```"));
        } else if trimmed.starts_with("<!-- ci") {
            if trimmed.trim_end().ends_with("-->") {
                out.push(piece());
            } else {
                open = Some((piece(), "-->"));
            }
        } else if trimmed.starts_with("<!-- dissector-view:") {
            out.push(piece());
        }
    }
    // An unclosed block is a piece too, so that it is compared.
    out.extend(open.map(|(p, _)| p));
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Compares a translation's pieces with its source's.
fn check_pieces(translation: &str, text: &str, source: &str, source_text: &str) -> Vec<String> {
    let (ours, theirs) = (pieces(text), pieces(source_text));
    for (n, pair) in ours.iter().zip(&theirs).enumerate() {
        if pair.0.text != pair.1.text {
            return vec![format!(
                "{translation}:{}: block {} ({:?}) differs from {source}:{} ({:?}): \
                 code blocks and hidden checks are copied byte for byte",
                pair.0.line,
                n + 1,
                first_line(&pair.0.text),
                pair.1.line,
                first_line(&pair.1.text)
            )];
        }
    }
    if ours.len() != theirs.len() {
        return vec![format!(
            "{translation}: {} code blocks and hidden checks, {source} has {}: \
             code blocks and hidden checks are copied byte for byte",
            ours.len(),
            theirs.len()
        )];
    }
    Vec::new()
}

/// The relative link targets of a Markdown text, outside code blocks and
/// inline code, with their lines.
fn relative_links(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Inline code is not a link: drop every other backtick span.
        let prose: String = line
            .split('`')
            .enumerate()
            .map(|(k, part)| if k % 2 == 0 { part } else { "" })
            .collect();
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            rest = &rest[end..];
            let path = target.split('#').next().unwrap_or("");
            let external = path.contains("://") || path.starts_with("mailto:");
            if !path.is_empty() && !external {
                out.push((i + 1, path.to_string()));
            }
        }
    }
    out
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Checks a translation's relative links: each names an existing file
/// (`exists`, given a path from the repository's root), and none names an
/// English handout that has a translation.
fn check_links(
    translation: &str,
    text: &str,
    exists: impl Fn(&str) -> bool,
    translated: &BTreeSet<String>,
) -> Vec<String> {
    let dir = Path::new(translation).parent().unwrap_or(Path::new(""));
    let mut problems = Vec::new();
    for (line, target) in relative_links(text) {
        let joined = normalize(&dir.join(&target));
        let resolved = rel(&joined);
        if joined.starts_with("..") || !exists(&resolved) {
            problems.push(format!(
                "{translation}:{line}: the link ({target}) leads to {resolved}, which does not exist"
            ));
        } else if translated.contains(&resolved) {
            problems.push(format!(
                "{translation}:{line}: the link ({target}) leads to the English {resolved}; \
                 point it to its translation"
            ));
        }
    }
    problems
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn fail_on(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn every_translation_names_its_source_and_its_hash() {
    let mut problems = Vec::new();
    for t in translations() {
        if let Err(e) = check_source(&t, &read(&t), |p| std::fs::read(repo().join(p)).ok()) {
            problems.push(e);
        }
    }
    fail_on(problems);
}

#[test]
fn translations_keep_the_code_blocks_and_hidden_checks() {
    let mut problems = Vec::new();
    for t in translations() {
        let source = mirrored_source(&t);
        match std::fs::read_to_string(repo().join(&source)) {
            Ok(english) => problems.extend(check_pieces(&t, &read(&t), &source, &english)),
            Err(e) => problems.push(format!("{t}: read its source {source}: {e}")),
        }
    }
    fail_on(problems);
}

#[test]
fn translations_links_resolve() {
    let ts = translations();
    let translated: BTreeSet<String> = ts.iter().map(|t| mirrored_source(t)).collect();
    let mut problems = Vec::new();
    for t in &ts {
        problems.extend(check_links(
            t,
            &read(t),
            |p| repo().join(p).exists(),
            &translated,
        ));
    }
    fail_on(problems);
}

#[test]
fn every_english_handout_has_a_translation() {
    let translated: BTreeSet<String> = translations().iter().map(|t| mirrored_source(t)).collect();
    let handouts = english_handouts();
    assert!(
        handouts.len() >= 6,
        "found only {handouts:?}: is labs/ still laid out as labs/*.md and labs/NN-name/README.md?"
    );
    let problems: Vec<String> = handouts
        .iter()
        .filter(|h| !translated.contains(*h))
        .map(|h| {
            format!(
                "{h} has no translation: write {TRANSLATIONS}/{}",
                h.strip_prefix("labs/").unwrap_or(h)
            )
        })
        .collect();
    fail_on(problems);
}

// The checks themselves, on texts made to fail them.

#[test]
fn a_changed_source_is_caught() {
    let t = "labs/pt-BR/01-first-stream/README.md";
    let english = b"# Lab 1\n".to_vec();
    let hash = sha256_hex(&english);
    let text = format!("<!-- source: labs/01-first-stream/README.md sha256:{hash} -->\n# Lab 1\n");
    let same = |_: &str| Some(english.clone());
    assert_eq!(
        check_source(t, &text, same).as_deref(),
        Ok("labs/01-first-stream/README.md")
    );
    let changed = |_: &str| Some(b"# Lab 1, edited\n".to_vec());
    let e = check_source(t, &text, changed).unwrap_err();
    assert!(e.contains("changed since it was translated"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
    let elsewhere = text.replace("01-first-stream", "02-reading-the-wire");
    assert!(check_source(t, &elsewhere, same)
        .unwrap_err()
        .contains("mirrors"));
    assert!(check_source(t, "# Lab 1\n", same)
        .unwrap_err()
        .contains("first line"));
}

#[test]
fn a_changed_block_or_hidden_check_is_caught() {
    let english = "Run:\n\n```sh\nstreamlab demo\n```\n<!-- ci\ngrep -q ok out.txt\n-->\n\
                   <!-- dissector-view:start -->\n```text\n$ x\n```\n<!-- dissector-view:end -->\n";
    let kinds: Vec<String> = pieces(english)
        .iter()
        .map(|p| first_line(&p.text).to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "```sh",
            "<!-- ci",
            "<!-- dissector-view:start -->",
            "```text",
            "<!-- dissector-view:end -->"
        ]
    );
    let good = english.replace("Run:", "Execute:");
    assert!(check_pieces("t.md", &good, "s.md", english).is_empty());
    for bad in [
        english.replace("streamlab demo", "streamlab demonstração"),
        english.replace("```sh\n", "```text\n"),
        english.replace("grep -q ok", "grep -q certo"),
        english.replace("<!-- ci\ngrep -q ok out.txt\n-->\n", ""),
        english.replace("<!-- dissector-view:end -->\n", ""),
    ] {
        let problems = check_pieces("t.md", &bad, "s.md", english);
        assert_eq!(problems.len(), 1, "{bad}");
        assert!(!problems[0].contains('\n'), "one line: {}", problems[0]);
    }
}

#[test]
fn a_broken_or_english_link_is_caught() {
    let t = "labs/pt-BR/02-reading-the-wire/README.md";
    let files = [
        "labs/pt-BR/GLOSSARY.md",
        "labs/GLOSSARY.md",
        "wireshark/streamlab.lua",
    ];
    let exists = |p: &str| files.contains(&p);
    let translated: BTreeSet<String> = ["labs/GLOSSARY.md".to_string()].into();
    let text = "[g](../GLOSSARY.md#tcp) [w](../../../wireshark/streamlab.lua) \
                [web](https://example.org) `[not](a link)` [top](#1-um-servidor)\n\
                ```text\n[x](nowhere.md)\n```\n";
    assert!(check_links(t, text, exists, &translated).is_empty());
    let problems = check_links(
        t,
        "[w](../../wireshark/streamlab.lua)\n[g](../../GLOSSARY.md)\n[out](../../../../x.md)\n",
        exists,
        &translated,
    );
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("labs/wireshark/streamlab.lua, which does not exist"));
    assert!(problems[1].contains("point it to its translation"));
}

#[test]
fn the_handouts_are_the_numbered_labs_and_the_top_level_pages() {
    let handouts = english_handouts();
    for h in [
        "labs/README.md",
        "labs/GLOSSARY.md",
        "labs/01-first-stream/README.md",
    ] {
        assert!(handouts.iter().any(|x| x == h), "{h} in {handouts:?}");
    }
    assert!(
        handouts.iter().all(|h| !h.starts_with("labs/pt-BR/")),
        "{handouts:?}"
    );
    assert_eq!(
        mirrored_source("labs/pt-BR/03-framing/README.md"),
        "labs/03-framing/README.md"
    );
}
