//! `findings`: findings a skill hands to the host while it runs, kept if the skill is then
//! stopped, and the findings limits of an invocation, which keep the highest-ranked findings
//! that fit and count the rest, whether they were reported early or returned by `run`.

use joule_policy::Limits;

use super::SkillState;
use super::bindings::joule::skill::findings::Host;
use super::bindings::joule::skill::types as wit;
use crate::audit::{Op, Target};

/// The findings an invocation reported before `run` returned, within its limits: charged to
/// its memory account while held.
#[derive(Default)]
pub struct Reported {
    pub findings: Vec<wit::Finding>,
    /// Bytes of text they carry, as charged to the memory account.
    pub bytes: usize,
    /// Reported findings left out at a limit (the lowest-ranked), and why.
    pub dropped: usize,
    pub warning: Option<String>,
}

impl Host for SkillState {
    fn report(&mut self, batch: Vec<wit::Finding>) -> wasmtime::Result<()> {
        let started = self.begin(Op::Report)?;
        let given = batch.len();
        // What is held is given back and charged again for what is kept: the limits apply
        // to everything reported so far, ranked together.
        let mut all = std::mem::take(&mut self.reported.findings);
        self.memory.release(self.reported.bytes);
        all.extend(batch);
        let kept = within_limits(all, &self.grants.limits, self.memory.room());
        let bytes: usize = kept.findings.iter().map(finding_size).sum();
        // `within_limits` kept no more than the account's room.
        let _ = self.memory.charge(bytes, "the findings it reported");
        self.reported.bytes = bytes;
        self.reported.findings = kept.findings;
        self.reported.dropped += kept.dropped;
        if kept.warning.is_some() {
            self.reported.warning = kept.warning;
        }
        let note =
            (kept.dropped > 0).then_some("findings limit reached: the lowest-ranked dropped");
        self.end(
            started,
            Op::Report,
            || Target::Text(format!("{given} findings").into()),
            0,
            note,
        )
    }
}

/// The findings an invocation keeps within its limits (count, total size, and `room`, what
/// its memory account has left: the findings, copied out of the guest, are host memory made
/// for it). Past a limit
/// the highest-ranked findings that fit are kept and the rest counted, with the reason and the
/// flag that raises the limit: one limit reached never costs every finding made.
pub fn within_limits(findings: Vec<wit::Finding>, limits: &Limits, room: usize) -> Kept {
    let bytes: usize = findings.iter().map(finding_size).sum();
    if findings.len() <= limits.max_findings && bytes <= limits.findings_bytes && bytes <= room {
        return Kept {
            findings,
            dropped: 0,
            warning: None,
        };
    }
    let given = findings.len();
    let mut ranked: Vec<((f64, u8, f64), wit::Finding)> = findings
        .into_iter()
        .map(|f| {
            let key = crate::findings::rank_key(
                f.kind.into(),
                f.impact.sample_share,
                f.impact.relative_change,
                f.confidence,
            );
            (key, f)
        })
        .collect();
    // Best first; a stable sort keeps the skill's own order among equals.
    ranked.sort_by(|(a, _), (b, _)| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(b.2.total_cmp(&a.2))
    });
    let (mut count_hit, mut size_hit, mut memory_hit) = (false, false, false);
    let mut kept = Vec::new();
    let mut held = 0usize;
    for (_, f) in ranked {
        if kept.len() >= limits.max_findings {
            count_hit = true;
            break;
        }
        let size = finding_size(&f);
        if held + size > limits.findings_bytes {
            size_hit = true;
            continue;
        }
        if held + size > room {
            memory_hit = true;
            continue;
        }
        held += size;
        kept.push(f);
    }
    let mut why = Vec::new();
    if count_hit {
        why.push(format!(
            "the limit is {} findings an invocation (raise it with --max-skill-findings, or \
             `findings` in the policy's limits)",
            limits.max_findings
        ));
    }
    if size_hit {
        why.push(format!(
            "the limit is {} KiB of findings an invocation (raise it with \
             --max-skill-findings-kib, or `findings_kib` in the policy's limits)",
            limits.findings_bytes >> 10
        ));
    }
    if memory_hit {
        why.push(format!(
            "the rest did not fit in the {:.1} MiB left in its memory account (raise it with \
             --memory, or `memory_mib` in the policy's limits)",
            room as f64 / (1 << 20) as f64
        ));
    }
    let dropped = given - kept.len();
    Kept {
        warning: Some(format!(
            "findings limit reached: kept the {} highest-ranked of {given} findings, dropped \
             {dropped}: {}",
            kept.len(),
            why.join("; ")
        )),
        findings: kept,
        dropped,
    }
}

/// What [`within_limits`] kept of an invocation's findings.
pub struct Kept {
    pub findings: Vec<wit::Finding>,
    /// Findings left out, the lowest-ranked.
    pub dropped: usize,
    /// Which limit was reached and how to raise it, when findings were dropped.
    pub warning: Option<String>,
}

/// The bytes of text a finding carries.
pub fn finding_size(f: &wit::Finding) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    f.rule.len()
        + f.title.len()
        + f.message.len()
        + f.locations
            .iter()
            .map(|l| opt(&l.tree) + opt(&l.file) + opt(&l.function) + 8)
            .sum::<usize>()
        + f.evidence
            .iter()
            .map(|m| m.name.len() + m.unit.len() + 8)
            .sum::<usize>()
        + f.edits
            .iter()
            .map(|e| opt(&e.tree) + e.file.len() + e.replacement.len() + 16)
            .sum::<usize>()
        + opt(&f.series)
        + opt(&f.at)
        + f.labels
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::{Limits, wit, within_limits};

    fn finding(
        kind: wit::FindingKind,
        share: Option<f64>,
        change: Option<f64>,
        title: &str,
    ) -> wit::Finding {
        wit::Finding {
            kind,
            rule: "r".into(),
            title: title.into(),
            message: String::new(),
            locations: Vec::new(),
            impact: wit::Impact {
                sample_share: share,
                value: None,
                unit: None,
                relative_change: change,
            },
            confidence: 1.0,
            evidence: Vec::new(),
            edits: Vec::new(),
            series: None,
            at: None,
            labels: Vec::new(),
        }
    }

    fn titles(findings: &[wit::Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.title.as_str()).collect()
    }

    #[test]
    fn past_the_findings_limit_the_highest_ranked_are_kept() {
        use wit::FindingKind::{Info, Opportunity, Regression};
        let findings = vec![
            finding(Opportunity, Some(0.01), None, "small"),
            finding(Regression, None, Some(0.001), "tiny step"),
            finding(Opportunity, Some(0.30), None, "big"),
            finding(Info, Some(0.30), None, "hot, information"),
            finding(Regression, None, Some(0.05), "large step"),
            finding(Opportunity, Some(f64::NAN), None, "no share"),
        ];
        let limits = Limits {
            max_findings: 4,
            ..Limits::default()
        };
        let kept = within_limits(findings.clone(), &limits, 256 << 20);
        // Share times confidence (information at half), then regressions by the size of
        // their change.
        assert_eq!(
            titles(&kept.findings),
            ["big", "hot, information", "small", "large step"]
        );
        assert_eq!(kept.dropped, 2);
        let warning = kept.warning.unwrap();
        assert!(
            warning.contains("kept the 4 highest-ranked of 6"),
            "{warning}"
        );
        assert!(warning.contains("--max-skill-findings"), "{warning}");

        // Within the limits, everything, in the skill's order, and no warning.
        let all = within_limits(findings.clone(), &Limits::default(), 256 << 20);
        assert_eq!(titles(&all.findings), titles(&findings));
        assert_eq!((all.dropped, all.warning), (0, None));
    }

    #[test]
    fn past_the_size_limit_the_best_that_fit_are_kept() {
        use wit::FindingKind::Opportunity;
        let mut huge = finding(Opportunity, Some(0.9), None, "huge");
        huge.message = "x".repeat(64 << 10);
        let findings = vec![
            finding(Opportunity, Some(0.1), None, "a"),
            huge,
            finding(Opportunity, Some(0.2), None, "b"),
        ];
        let limits = Limits {
            findings_bytes: 16 << 10,
            ..Limits::default()
        };
        let kept = within_limits(findings, &limits, 256 << 20);
        assert_eq!(titles(&kept.findings), ["b", "a"]);
        assert_eq!(kept.dropped, 1);
        assert!(kept.warning.unwrap().contains("--max-skill-findings-kib"));
        // The memory account bounds them the same way.
        let findings = vec![finding(Opportunity, Some(0.1), None, "a")];
        let kept = within_limits(findings, &Limits::default(), 0);
        assert_eq!((kept.findings.len(), kept.dropped), (0, 1));
        assert!(kept.warning.unwrap().contains("--memory"));
    }
}
