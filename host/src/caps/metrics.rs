//! `metrics`: granted metric sets as resources, read in batches. Every call is counted, charged
//! against the host-call data limit by the size of its answer, and recorded for the audit log.

use std::sync::Arc;

use joule_policy::Capability;
use wasmtime::component::Resource;

use super::bindings::joule::skill::metrics::{Host, HostMetricSet, Point, SeriesInfo, TimeFormat};
use super::{CallError, ErrorCode, HostCost, SkillState, call_error};
use crate::audit::{Op, Target};
use crate::inputs::NamedMetrics;
use crate::metrics::{self, Series};

/// Series one `list` call returns at most.
pub const MAX_SERIES_ROWS: u32 = 10_000;
/// Points one `points`, `values` or `times` call returns at most.
pub const MAX_POINTS: u32 = 100_000;

/// A guest's handle on one granted metric set.
pub struct MetricSetHandle {
    set: Arc<NamedMetrics>,
    /// Its name in the audit buffer.
    name: u32,
}

impl HostCost for MetricSetHandle {
    const WHAT: &'static str = "a metric set handle";
}

fn info(id: usize, s: &Series) -> SeriesInfo {
    SeriesInfo {
        id: id as u32,
        name: s.name.clone(),
        labels: s.labels.clone(),
        len: s.len() as u32,
        first: s.times().first().copied().unwrap_or(0),
        last: s.times().last().copied().unwrap_or(0),
    }
}

fn info_size(i: &SeriesInfo) -> u64 {
    let labels: usize = i.labels.iter().map(|(k, v)| k.len() + v.len() + 8).sum();
    (i.name.len() + labels + 32) as u64
}

impl SkillState {
    /// One call on a metric set handle: counted, answered, charged by `size`, recorded.
    fn on_metrics<T>(
        &mut self,
        handle: &Resource<MetricSetHandle>,
        op: Op,
        answer: impl FnOnce(&NamedMetrics) -> T,
        size: impl FnOnce(&T) -> u64,
    ) -> wasmtime::Result<T> {
        let started = self.begin(op)?;
        let h = self.table.get(handle)?;
        let name = h.name;
        let result = answer(&h.set);
        let bytes = size(&result);
        self.end(started, op, || Target::Name(name), bytes, None)?;
        Ok(result)
    }

    /// Points `start..start + limit` of series `id`, as `pick` makes them from the series and
    /// the range (straight from the store's columns: only the range asked for is copied).
    fn on_points<T: Copy>(
        &mut self,
        handle: &Resource<MetricSetHandle>,
        op: Op,
        id: u32,
        start: u32,
        limit: u32,
        pick: impl Fn(&Series, std::ops::Range<usize>) -> Vec<T>,
    ) -> wasmtime::Result<Result<Vec<T>, CallError>> {
        let item = std::mem::size_of::<T>() as u64;
        self.on_metrics(
            handle,
            op,
            |m| {
                let Some(series) = m.set.series.get(id as usize) else {
                    return Err(call_error(
                        ErrorCode::NotFound,
                        format!(
                            "series {id} does not exist (the metric set has {})",
                            m.set.series.len()
                        ),
                    ));
                };
                let from = (start as usize).min(series.len());
                let to = from
                    .saturating_add(limit.min(MAX_POINTS) as usize)
                    .min(series.len());
                Ok(pick(series, from..to))
            },
            |r: &Result<Vec<T>, CallError>| r.as_ref().map_or(64, |v| v.len() as u64 * item),
        )
    }
}

impl Host for SkillState {
    fn granted(&mut self) -> wasmtime::Result<Vec<Resource<MetricSetHandle>>> {
        let started = self.begin(Op::MetricsGranted)?;
        let sets = self.inputs.metrics.clone();
        let denied = (sets.is_empty() && !self.inputs.withheld_metrics.is_empty()).then(|| {
            self.grants
                .withheld(Capability::Metrics, &self.inputs.withheld_metrics)
                .to_string()
        });
        let mut handles = Vec::with_capacity(sets.len());
        for set in sets {
            let name = self.audit.as_mut().map_or(0, |a| a.intern(&set.name));
            handles.push(self.push_handle(MetricSetHandle { set, name })?);
        }
        let bytes = handles.len() as u64 * 4;
        self.end(
            started,
            Op::MetricsGranted,
            || Target::None,
            bytes,
            denied.as_deref(),
        )?;
        Ok(handles)
    }
}

impl HostMetricSet for SkillState {
    fn name(&mut self, handle: Resource<MetricSetHandle>) -> wasmtime::Result<String> {
        self.on_metrics(
            &handle,
            Op::MetricSetName,
            |m| m.name.clone(),
            |n| n.len() as u64,
        )
    }

    fn time_format(&mut self, handle: Resource<MetricSetHandle>) -> wasmtime::Result<TimeFormat> {
        self.on_metrics(
            &handle,
            Op::TimeFormat,
            |m| match m.set.time_format {
                metrics::TimeFormat::Integer => TimeFormat::Integer,
                metrics::TimeFormat::Rfc3339 => TimeFormat::Rfc3339,
            },
            |_| 1,
        )
    }

    fn show(&mut self, handle: Resource<MetricSetHandle>, t: i64) -> wasmtime::Result<String> {
        self.on_metrics(
            &handle,
            Op::Show,
            |m| m.set.time_format.show(t),
            |s| s.len() as u64,
        )
    }

    fn count(&mut self, handle: Resource<MetricSetHandle>) -> wasmtime::Result<u32> {
        self.on_metrics(
            &handle,
            Op::SeriesCount,
            |m| m.set.series.len() as u32,
            |_| 4,
        )
    }

    fn list_series(
        &mut self,
        handle: Resource<MetricSetHandle>,
        start: u32,
        limit: u32,
        name_contains: Option<String>,
    ) -> wasmtime::Result<Vec<SeriesInfo>> {
        self.on_metrics(
            &handle,
            Op::ListSeries,
            |m| {
                let wanted = limit.min(MAX_SERIES_ROWS) as usize;
                m.set
                    .series
                    .iter()
                    .enumerate()
                    .skip(start as usize)
                    .filter(|(_, s)| name_contains.as_deref().is_none_or(|n| s.name.contains(n)))
                    .take(wanted)
                    .map(|(i, s)| info(i, s))
                    .collect::<Vec<_>>()
            },
            |rows| rows.iter().map(info_size).sum(),
        )
    }

    fn points(
        &mut self,
        handle: Resource<MetricSetHandle>,
        id: u32,
        start: u32,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<Point>, CallError>> {
        self.on_points(&handle, Op::Points, id, start, limit, |s, range| {
            let (times, values) = (&s.times()[range.clone()], &s.values()[range]);
            times
                .iter()
                .zip(values)
                .map(|(&t, &v)| Point { t, v })
                .collect()
        })
    }

    fn values(
        &mut self,
        handle: Resource<MetricSetHandle>,
        id: u32,
        start: u32,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<f64>, CallError>> {
        self.on_points(&handle, Op::Values, id, start, limit, |s, range| {
            s.values()[range].to_vec()
        })
    }

    fn times(
        &mut self,
        handle: Resource<MetricSetHandle>,
        id: u32,
        start: u32,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<i64>, CallError>> {
        self.on_points(&handle, Op::Times, id, start, limit, |s, range| {
            s.times()[range].to_vec()
        })
    }

    fn drop(&mut self, handle: Resource<MetricSetHandle>) -> wasmtime::Result<()> {
        let started = self.begin(Op::DropMetricSet)?;
        let h = self.drop_handle(handle)?;
        self.end(started, Op::DropMetricSet, || Target::Name(h.name), 0, None)
    }
}
