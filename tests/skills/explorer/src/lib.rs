//! A skill that asks the host the 0.1.1 questions (labels, filters, diffs, subtrees, path
//! mapping) and reports each answer as a finding, so tests can check them through the real
//! sandbox boundary.

use joule_sdk::Order;
use joule_sdk::prelude::*;

struct Explorer;

fn fact(rule: &str, title: String, value: f64) -> Finding {
    Finding::info(rule)
        .title(title.clone())
        .evidence("value", value, "")
        .label("fingerprint", title)
        .build()
}

impl Skill for Explorer {
    fn describe() -> Descriptor {
        Describe::new(
            "explorer",
            "0.1.0",
            "Reports what the 0.1.1 profile queries answer.",
        )
        .uses("profiles")
        .uses("source")
        .parameter(
            "locate",
            "A profile path to map onto the first tree.",
            Some(""),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mut out = Vec::new();
        let profiles = Profile::granted();
        if let Some(p) = profiles.first() {
            for l in p.labels(5)? {
                out.push(fact(
                    "label",
                    format!("{}={}", l.key, l.value),
                    l.total as f64,
                ));
            }
            if let Some(first) = p.labels(1)?.first() {
                let only = p.filter(&[(&first.key, Some(&first.value))], false)?;
                out.push(fact(
                    "filtered-total",
                    format!("only {}={}", first.key, first.value),
                    only.total() as f64,
                ));
                let rest = p.filter(&[(&first.key, Some(&first.value))], true)?;
                out.push(fact(
                    "filtered-total",
                    format!("without {}={}", first.key, first.value),
                    rest.total() as f64,
                ));
            }
            let root = p.subtree(&[], 3)?;
            out.push(fact("subtree", "root".to_string(), root.total_value as f64));
            for child in &root.children {
                let node = p.subtree(&[child.function.id], 3)?;
                out.push(fact(
                    "subtree",
                    format!("root/{}", child.function.name),
                    node.total_value as f64,
                ));
            }
        }
        if let [base, new, ..] = profiles.as_slice() {
            for d in new.diff(base, Order::BySelf, 3, false)? {
                out.push(fact(
                    "diff",
                    format!("{} {} -> {}", d.name, d.base_self, d.new_self),
                    (d.new_self - d.base_self) as f64,
                ));
            }
        }
        let path = invocation.param("locate").unwrap_or("");
        if !path.is_empty() {
            for tree in Tree::granted() {
                let found = tree.locate(path).unwrap_or_else(|| "-".to_string());
                out.push(fact("locate", format!("{} -> {found}", tree.name()), 0.0));
            }
        }
        Ok(out)
    }
}

export_skill!(Explorer);
