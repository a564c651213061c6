//! Flame graph data for the HTML report: a profile's stacks merged into a call tree by function
//! name, frames narrower than a visible width merged into their callers (as flame graph tools
//! do), and written in pre-order as flat numbers the page's script draws from.

use std::collections::HashMap;

use joule_profile::model::{FunctionId, Profile};
use serde::Serialize;

/// How much of a profile's call tree the report keeps.
#[derive(Clone, Copy, Debug)]
pub struct Detail {
    /// Frames under this share of the whole graph (0..1) are merged into their callers.
    pub min_width: f64,
    /// At most this many frames per graph: past it the narrowest are merged too.
    pub max_frames: usize,
}

impl Default for Detail {
    fn default() -> Self {
        // A tenth of a pixel on a 1,000-pixel graph, as flamegraph.pl's default `--minwidth`
        // is a tenth of a pixel: a frame the default graph cannot show. Zooming in a hundred
        // times still shows every frame of one pixel or more.
        Detail {
            min_width: 1e-4,
            max_frames: 200_000,
        }
    }
}

/// One graph as the page reads it.
#[derive(Debug, Serialize)]
pub struct Graph {
    pub title: String,
    /// The sample type drawn, `name/unit`.
    pub unit: String,
    /// For a differential graph: the base profile's name (widths are the later profile's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_total: Option<i64>,
    /// Function names; frames refer to them by index.
    pub names: Vec<String>,
    /// Frames in pre-order, `stride` numbers each: name index, depth, value, and for a
    /// differential graph the base value. Frame 0 is the root (`all`).
    pub frames: Vec<i64>,
    pub stride: usize,
    /// Frames merged into their callers for being narrower than `min_value`.
    pub merged: usize,
    /// The narrowest frame kept, in the graph's unit.
    pub min_value: i64,
}

/// The call tree of one or two profiles (a base and a later one), by function name.
struct Tree {
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    /// Per node: its name, its parent, its value in each profile.
    name: Vec<u32>,
    parent: Vec<u32>,
    values: Vec<[i64; 2]>,
    child: HashMap<(u32, u32), u32>,
}

impl Tree {
    fn new() -> Self {
        let mut tree = Tree {
            names: Vec::new(),
            name_ids: HashMap::new(),
            name: Vec::new(),
            parent: Vec::new(),
            values: Vec::new(),
            child: HashMap::new(),
        };
        let all = tree.intern("all");
        tree.name.push(all);
        tree.parent.push(0);
        tree.values.push([0, 0]);
        tree
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.name_ids.insert(name.to_string(), id);
        id
    }

    /// Adds sample type `t` of `profile` as profile `slot` (0 the base, 1 the later one).
    fn add(&mut self, profile: &Profile, t: usize, slot: usize) {
        let mut by_function: Vec<Option<u32>> = vec![None; profile.functions.len()];
        let mut path: Vec<FunctionId> = Vec::new();
        for i in 0..profile.stack_count() {
            let value = profile.stack_values(i).get(t).copied().unwrap_or(0);
            if value <= 0 {
                continue;
            }
            path.clear();
            path.extend(profile.frames_of(i).map(|f| f.function));
            let mut node = 0u32;
            self.values[0][slot] = self.values[0][slot].saturating_add(value);
            for &function in path.iter().rev() {
                let name = match by_function.get(function as usize).copied().flatten() {
                    Some(id) => id,
                    None => {
                        let id = self.intern(profile.function_name(function));
                        if let Some(cell) = by_function.get_mut(function as usize) {
                            *cell = Some(id);
                        }
                        id
                    }
                };
                node = match self.child.get(&(node, name)) {
                    Some(&c) => c,
                    None => {
                        let c = self.name.len() as u32;
                        self.name.push(name);
                        self.parent.push(node);
                        self.values.push([0, 0]);
                        self.child.insert((node, name), c);
                        c
                    }
                };
                let v = &mut self.values[node as usize][slot];
                *v = v.saturating_add(value);
            }
        }
    }

    /// The graph: widths from profile `slot`, frames under the detail's limits merged.
    fn graph(self, slot: usize, diff: bool, detail: Detail) -> (Vec<String>, Vec<i64>, usize, i64) {
        let n = self.name.len();
        let width = |i: usize| self.values[i][slot];
        let total = width(0).max(0);
        let mut min_value = ((total as f64) * detail.min_width.clamp(0.0, 1.0)).ceil() as i64;
        min_value = min_value.max(1);
        // The root is always drawn; frames of width 0 (a differential graph's frames found only
        // in the base) are not frames of this graph at all.
        let drawn = |i: usize, min: i64| i == 0 || width(i) >= min;
        let frames_in = (0..n).filter(|&i| i == 0 || width(i) > 0).count();
        let mut kept = (0..n).filter(|&i| drawn(i, min_value)).count();
        if kept > detail.max_frames.max(1) {
            // A frame is never wider than its caller, so any width threshold keeps whole
            // paths from the root: raise it past the `max_frames`-th widest frame.
            let mut widths: Vec<i64> = (0..n).map(width).collect();
            let k = detail.max_frames.max(1) - 1;
            widths.select_nth_unstable_by(k, |a, b| b.cmp(a));
            min_value = widths[k];
            kept = (0..n).filter(|&i| drawn(i, min_value)).count();
            if kept > detail.max_frames.max(1) {
                // Frames tied at that width would pass the budget: all of them go.
                min_value = widths[k].saturating_add(1);
                kept = (0..n).filter(|&i| drawn(i, min_value)).count();
            }
        }
        // Children in name order, so the output depends on the profile, not on hash order.
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
        for i in 1..n {
            if width(i) >= min_value {
                children[self.parent[i] as usize].push(i as u32);
            }
        }
        for list in &mut children {
            list.sort_by(|&a, &b| {
                self.names[self.name[a as usize] as usize]
                    .cmp(&self.names[self.name[b as usize] as usize])
            });
        }
        let stride = if diff { 4 } else { 3 };
        let mut frames = Vec::with_capacity(kept * stride);
        let mut names: Vec<String> = Vec::new();
        let mut renamed: HashMap<u32, i64> = HashMap::new();
        let mut stack: Vec<(u32, i64)> = vec![(0, 0)];
        while let Some((node, depth)) = stack.pop() {
            let i = node as usize;
            let name = *renamed.entry(self.name[i]).or_insert_with(|| {
                names.push(self.names[self.name[i] as usize].clone());
                names.len() as i64 - 1
            });
            frames.extend([name, depth, width(i)]);
            if diff {
                frames.push(self.values[i][0]);
            }
            for &c in children[i].iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        (names, frames, frames_in.saturating_sub(kept), min_value)
    }
}

/// The flame graph of sample type `t` of `profile`.
pub fn graph(title: &str, profile: &Profile, t: usize, detail: Detail) -> Graph {
    let mut tree = Tree::new();
    tree.add(profile, t, 0);
    let total = tree.values[0][0];
    let (names, frames, merged, min_value) = tree.graph(0, false, detail);
    Graph {
        title: title.to_string(),
        unit: profile.sample_type_label(t),
        base: None,
        total,
        base_total: None,
        names,
        frames,
        stride: 3,
        merged,
        min_value,
    }
}

/// The differential flame graph from `base` to `new`: widths are `new`'s, and each frame
/// carries its value in `base` too.
pub fn diff(
    base_title: &str,
    base: (&Profile, usize),
    title: &str,
    new: (&Profile, usize),
    detail: Detail,
) -> Graph {
    let mut tree = Tree::new();
    tree.add(base.0, base.1, 0);
    tree.add(new.0, new.1, 1);
    let (base_total, total) = (tree.values[0][0], tree.values[0][1]);
    let (names, frames, merged, min_value) = tree.graph(1, true, detail);
    Graph {
        title: title.to_string(),
        unit: new.0.sample_type_label(new.1),
        base: Some(base_title.to_string()),
        total,
        base_total: Some(base_total),
        names,
        frames,
        stride: 4,
        merged,
        min_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> Profile {
        joule_profile::ingest::load_bytes("test.folded", text.as_bytes()).unwrap()
    }

    /// (name, depth, value) of each frame, in the page's order.
    fn frames(g: &Graph) -> Vec<(String, i64, i64)> {
        g.frames
            .chunks(g.stride)
            .map(|f| (g.names[f[0] as usize].clone(), f[1], f[2]))
            .collect()
    }

    #[test]
    fn stacks_merge_by_name_in_pre_order_and_name_order() {
        let p = folded("main;b;x 3\nmain;a 2\nmain;b;x 1\nother 4\n");
        let g = graph("t", &p, p.default_sample_type, Detail::default());
        assert_eq!(g.total, 10);
        assert_eq!(
            frames(&g),
            [
                ("all".into(), 0, 10),
                ("main".into(), 1, 6),
                ("a".into(), 2, 2),
                ("b".into(), 2, 4),
                ("x".into(), 3, 4),
                ("other".into(), 1, 4),
            ]
        );
        assert_eq!(g.merged, 0);
    }

    #[test]
    fn narrow_frames_merge_into_their_callers_and_are_counted() {
        let p = folded("main;wide 990\nmain;thin 5\nmain;thin;deeper 5\n");
        let detail = Detail {
            min_width: 0.02,
            max_frames: 100,
        };
        let g = graph("t", &p, p.default_sample_type, detail);
        let names: Vec<String> = frames(&g).into_iter().map(|f| f.0).collect();
        assert_eq!(names, ["all", "main", "wide"]);
        assert_eq!(g.merged, 2, "thin and deeper");
        // The frame budget: past it the narrowest go, whole paths from the root kept.
        let budget = Detail {
            min_width: 0.0,
            max_frames: 3,
        };
        let g = graph("t", &p, p.default_sample_type, budget);
        assert_eq!(frames(&g).len(), 3);
        assert_eq!(frames(&g)[2].0, "wide");
    }

    #[test]
    fn a_differential_graph_carries_both_values() {
        let base = folded("main;a 5\nmain;b 5\n");
        let new = folded("main;a 9\nmain;c 1\n");
        let g = diff(
            "base",
            (&base, base.default_sample_type),
            "new",
            (&new, new.default_sample_type),
            Detail::default(),
        );
        let rows: Vec<(String, i64, i64)> = g
            .frames
            .chunks(4)
            .map(|f| (g.names[f[0] as usize].clone(), f[2], f[3]))
            .collect();
        assert_eq!(
            rows,
            [
                ("all".into(), 10, 10),
                ("main".into(), 10, 10),
                ("a".into(), 9, 5),
                ("c".into(), 1, 0),
            ]
        );
        // `b` is gone from the later profile: not a frame of this graph, not "merged".
        assert_eq!(g.merged, 0);
    }
}
