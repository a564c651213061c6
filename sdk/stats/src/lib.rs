//! Statistics for skills that compare measurements: summaries, p-values, tests, seeded noise.
//!
//! Pure Rust on `std` alone, so it builds for `wasm32-wasip2` like the rest of the SDK. Each
//! submodule holds one concern; the common entry points are re-exported here:
//!
//! * [`basic`]: [`mean`], [`variance`], [`std_dev`], [`median`] (and [`median_in_place`] for a
//!   scratch buffer), [`quantile`], [`mad`], [`mad_sigma`].
//! * [`dist`]: normal, Student t, chi-square and Kolmogorov tail probabilities, and the special
//!   functions (`erfc`, `ln Γ`, incomplete beta and gamma) they rest on.
//! * [`hypothesis`]: [`welch_t_test`] and [`mann_whitney_u`] for "did it get slower between
//!   these two sets of runs", [`mann_kendall`] and [`theil_sen`] for "is it drifting".
//! * [`noise`]: seeded Gaussian noise, the same on every platform, for simulations and tests.
//! * [`group`]: [`correlation`], and which member a group of correlated changes is reported
//!   as ([`lead`], [`alike`]): shared by `regression-detect` and `joule merge`, which joins the
//!   groups shards found apart, so a merge decides as one process would.
//!
//! Its own crate (`joule-stats`, re-exported by the SDK as `joule_sdk::stats`) so the host
//! uses the same code as the skills.
//!
//! "When did this series change" is not here but in the `regression-detect` skill
//! (`skills/regression-detect/src/detect.rs`): its split search, p-value, season removal and
//! detrending are tuned and calibrated together, and a skill gets its answers as `regression`
//! findings (`Describe::on_finding`) rather than a second, general change-point search.
//!
//! Inputs are plain `&[f64]`; nothing panics on empty, short or constant input (undefined
//! results are `f64::NAN`). The reference tests (`reference_tests.rs`) pin the summaries,
//! distributions and tests to numpy, scipy and pymannkendall (`reference.py` regenerates their
//! values).
//!
//! ```
//! use joule_stats as stats; // in a skill: use joule_sdk::stats;
//!
//! let before = [10.1, 10.3, 9.9, 10.2, 10.0, 10.1, 10.2, 9.8];
//! let after = [10.9, 11.2, 10.8, 11.0, 11.1, 10.7, 11.3, 11.0];
//! let test = stats::mann_whitney_u(&after, &before);
//! assert!(test.p_value < 0.01);
//! let shift = (stats::median(&after) - stats::median(&before)) / stats::median(&before);
//! assert!((shift - 0.0891).abs() < 1e-3);
//! ```

pub mod basic;
pub mod dist;
pub mod group;
pub mod hypothesis;
pub mod noise;

#[cfg(test)]
mod reference_tests;

pub use basic::{
    MAD_TO_SIGMA, mad, mad_sigma, mean, median, median_in_place, quantile, quantiles, std_dev,
    variance,
};
pub use dist::{
    chi_square_cdf, chi_square_sf, kolmogorov_sf, normal_cdf, normal_sf, normal_two_sided_p,
    student_t_cdf, student_t_sf, student_t_two_sided_p,
};
pub use group::{alike, correlation, lead};
pub use hypothesis::{
    MannKendall, MannWhitney, TheilSen, WelchTest, mann_kendall, mann_whitney_u, sen_slope,
    theil_sen, welch_t_test,
};
