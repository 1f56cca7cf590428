//! Keeps `docs/options/<long>.md` and the clap definitions in step: one page per option,
//! whose front matter repeats the option's long name, short letter, argument and help line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::CommandFactory;

use crate::args::Args;

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/options")
}

/// The `Key: value` lines between the two `---` lines at the top of a page.
fn front_matter(text: &str) -> Option<BTreeMap<String, String>> {
    let mut lines = text.lines();
    if lines.next()? != "---" {
        return None;
    }
    let mut map = BTreeMap::new();
    for line in lines {
        if line == "---" {
            return Some(map);
        }
        let (key, value) = line.split_once(':')?;
        map.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    None
}

#[test]
fn every_option_has_a_page_that_matches_it() {
    let cmd = Args::command();
    let mut longs = BTreeSet::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_positional()) {
        let long = arg.get_long().expect("every option has a long name");
        longs.insert(long.to_owned());
        let path = docs_dir().join(format!("{long}.md"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fm =
            front_matter(&text).unwrap_or_else(|| panic!("{}: no front matter", path.display()));
        assert_eq!(
            fm.get("Long").map(String::as_str),
            Some(long),
            "{long}: Long"
        );
        let short = arg.get_short().map(|c| c.to_string());
        assert_eq!(fm.get("Short").cloned(), short, "{long}: Short");
        // `-O` appends a value without reading one (`num_args = 0`): no argument.
        let reads_value = arg.get_action().takes_values()
            && arg.get_num_args().is_none_or(|n| n.max_values() != 0);
        let value = arg
            .get_value_names()
            .and_then(|names| names.first())
            .filter(|_| reads_value)
            .map(|n| format!("<{n}>"));
        assert_eq!(fm.get("Arg").cloned(), value, "{long}: Arg");
        let help = arg.get_help().map(|h| h.to_string());
        assert_eq!(fm.get("Help").cloned(), help, "{long}: Help");
        let example = fm
            .get("Example")
            .unwrap_or_else(|| panic!("{long}: no Example"));
        let uses_short = short
            .as_ref()
            .is_some_and(|s| example.contains(&format!("-{s}")));
        assert!(
            example.contains(&format!("--{long}")) || uses_short,
            "{long}: the example does not use the option: {example}"
        );
        let body = text.splitn(3, "---").nth(2).unwrap_or("");
        assert!(body.trim().len() > 40, "{long}: the page says nothing");
    }
    let pages: BTreeSet<String> = std::fs::read_dir(docs_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".md").map(str::to_owned)
        })
        .collect();
    let extra: Vec<_> = pages.difference(&longs).collect();
    assert!(
        extra.is_empty(),
        "pages for options that do not exist: {extra:?}"
    );
}
