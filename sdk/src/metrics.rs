//! Granted metric sets: resource time series read from the host in batches.

use crate::CallError;
use crate::bindings::joule::skill::metrics::{self as wit, granted};

pub use wit::{Point, SeriesInfo, TimeFormat};

/// One granted metric set (a file the operator gave with `--metrics`).
pub struct MetricSet {
    raw: wit::MetricSet,
    name: String,
}

/// Series the host lists per call, and points it returns per call.
const LIST_PAGE: u32 = 10_000;
const POINT_PAGE: u32 = 100_000;

impl MetricSet {
    /// Every metric set granted to this invocation.
    pub fn granted() -> Vec<MetricSet> {
        granted()
            .into_iter()
            .map(|raw| {
                let name = raw.name();
                MetricSet { raw, name }
            })
            .collect()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn time_format(&self) -> TimeFormat {
        self.raw.time_format()
    }

    /// A timestamp as the input wrote it (`1700000000`, `2026-11-01T12:00:00Z`).
    pub fn show(&self, t: i64) -> String {
        self.raw.show(t)
    }

    pub fn len(&self) -> usize {
        self.raw.count() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every series, without points, in the set's order (ids are positions).
    pub fn series(&self) -> Vec<SeriesInfo> {
        self.matching(None)
    }

    /// The series whose name contains `text`.
    pub fn matching(&self, text: Option<&str>) -> Vec<SeriesInfo> {
        let mut out = Vec::new();
        let mut start = 0u32;
        loop {
            let page = self.raw.list_series(start, LIST_PAGE, text);
            let Some(last) = page.last() else { break };
            start = last.id + 1;
            out.extend(page);
        }
        out
    }

    /// Every value of series `id`, oldest first.
    pub fn values(&self, id: u32) -> Result<Vec<f64>, CallError> {
        self.paged(|start| self.raw.values(id, start, POINT_PAGE))
    }

    /// Every timestamp of series `id`.
    pub fn times(&self, id: u32) -> Result<Vec<i64>, CallError> {
        self.paged(|start| self.raw.times(id, start, POINT_PAGE))
    }

    /// Every point of series `id`.
    pub fn points(&self, id: u32) -> Result<Vec<Point>, CallError> {
        self.paged(|start| self.raw.points(id, start, POINT_PAGE))
    }

    fn paged<T>(
        &self,
        page: impl Fn(u32) -> Result<Vec<T>, CallError>,
    ) -> Result<Vec<T>, CallError> {
        let mut out = Vec::new();
        loop {
            let batch = page(out.len() as u32)?;
            let full = batch.len() as u32 == POINT_PAGE;
            out.extend(batch);
            if !full {
                return Ok(out);
            }
        }
    }

    /// The raw resource, for calls this wrapper does not cover.
    pub fn raw(&self) -> &wit::MetricSet {
        &self.raw
    }
}
