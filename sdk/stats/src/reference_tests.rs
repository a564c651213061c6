//! Reference tests: each statistic against numpy, scipy and pymannkendall on fixed inputs.
//!
//! Do not edit the `expected` module by hand: it is the output of `reference.py` (next to this
//! file), which holds the same inputs literally. To regenerate it, with the packages the
//! generated header lists (numpy 2.4.6, scipy 1.17.1, pymannkendall 1.4.3, Python 3.11.7 when
//! last run):
//!
//! ```text
//! python3 -m venv /tmp/statsvenv
//! /tmp/statsvenv/bin/pip install scipy numpy pymannkendall
//! /tmp/statsvenv/bin/python sdk/stats/src/reference.py            # prints the module
//! /tmp/statsvenv/bin/python sdk/stats/src/reference.py --write    # replaces it below
//! ```
//!
//! (`python3 sdk/stats/src/reference.py` works as well with those packages on the path.)
//!
//! Tolerances are relative (`|got − want| ≤ tol·|want|`) unless said otherwise:
//!
//! * [`DIST`] = 1e-12 for the distribution and special functions (normal CDF/SF out to
//!   `|z| = 37`, erf/erfc, Student t CDF and two-sided p, chi-square CDF/SF, ln Γ, incomplete beta
//!   and gamma, Kolmogorov SF). The largest error seen is 2e-13 (`chi_square_sf(5000, 4000)`,
//!   `gamma_q(1e4, 1.01e4)`); ln Γ also accepts 1e-15 absolute near its zeros at 1 and 2.
//! * [`STAT`] = 1e-9 for everything computed from data (summaries, quantiles, test statistics,
//!   degrees of freedom, p-values, Theil–Sen); seen: at most 6e-14. Mann–Whitney `U` and
//!   Mann–Kendall `S` must be equal.
//! * Mann–Kendall's p-value is compared with `2·norm.sf(|z|)` at [`STAT`] and with
//!   pymannkendall's own `p` within 1e-15 absolute only: pymannkendall computes
//!   `2·(1 − norm.cdf(|z|))`, which is off by 1.6e-6 relative at `p ≈ 1.4e-11`.
//!
//! scipy's `gammainc`/`gammaincc` are themselves off by up to 2.5e-7 relative for `a` near 10⁶
//! in the far tails (checked with mpmath at 50 digits, which agrees with this module to 6e-13),
//! so the reference points stay where scipy is accurate.

use super::basic::{mad, mad_sigma, mean, median, quantiles, std_dev, variance};
use super::dist::{
    chi_square_cdf, chi_square_sf, erf, erfc, kolmogorov_sf, ln_gamma, normal_cdf, normal_sf,
    regularized_beta, regularized_gamma_p, regularized_gamma_q, student_t_cdf,
    student_t_two_sided_p,
};
use super::hypothesis::{mann_kendall, mann_whitney_u, theil_sen, welch_t_test};
use expected::*;

/// Asserts `|got − want| ≤ max(rel·|want|, abs)`; `NaN` must meet `NaN`. Prints the error so
/// `cargo test -- --nocapture` shows how much room each tolerance leaves.
#[track_caller]
fn assert_close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    if want.is_nan() || got.is_nan() {
        assert!(
            want.is_nan() && got.is_nan(),
            "{what}: got {got:e}, want {want:e}"
        );
        return;
    }
    let err = (got - want).abs();
    if std::env::var_os("STATS_REFERENCE_VERBOSE").is_some() {
        println!(
            "{what}: rel err {:.2e}, abs err {err:.2e}",
            err / want.abs()
        );
    }
    assert!(
        got == want || err <= (rel * want.abs()).max(abs),
        "{what}: got {got:e}, want {want:e} (rel err {:.2e}, abs err {err:.2e})",
        err / want.abs()
    );
}

#[track_caller]
fn assert_rel(what: &str, got: f64, want: f64, rel: f64) {
    assert_close(what, got, want, rel, 0.0);
}

/// Distribution functions: relative, in both tails.
const DIST: f64 = 1e-12;
/// Derived statistics (means, variances, quantiles, test statistics and their p-values).
const STAT: f64 = 1e-9;

#[test]
fn normal_cdf_and_sf() {
    for &(z, cdf, sf) in NORMAL {
        assert_rel(&format!("normal_cdf({z})"), normal_cdf(z), cdf, DIST);
        assert_rel(&format!("normal_sf({z})"), normal_sf(z), sf, DIST);
    }
}

#[test]
fn erf_and_erfc() {
    for &(x, want_erf, want_erfc) in ERF {
        assert_rel(&format!("erf({x})"), erf(x), want_erf, DIST);
        assert_rel(&format!("erfc({x})"), erfc(x), want_erfc, DIST);
    }
}

#[test]
fn student_t_cdf_and_two_sided_p() {
    for &(t, df, cdf, p) in STUDENT_T {
        assert_rel(
            &format!("student_t_cdf({t}, {df})"),
            student_t_cdf(t, df),
            cdf,
            DIST,
        );
        let got = student_t_two_sided_p(t, df);
        assert_rel(&format!("student_t_two_sided_p({t}, {df})"), got, p, DIST);
    }
}

#[test]
fn chi_square_cdf_and_sf() {
    for &(x, k, cdf, sf) in CHI_SQUARE {
        assert_rel(
            &format!("chi_square_cdf({x}, {k})"),
            chi_square_cdf(x, k),
            cdf,
            DIST,
        );
        assert_rel(
            &format!("chi_square_sf({x}, {k})"),
            chi_square_sf(x, k),
            sf,
            DIST,
        );
    }
}

#[test]
fn ln_gamma_matches_gammaln() {
    // Absolute near the zeros of ln Γ at 1 and 2, relative elsewhere.
    for &(x, want) in LN_GAMMA {
        assert_close(&format!("ln_gamma({x})"), ln_gamma(x), want, DIST, 1e-15);
    }
}

#[test]
fn incomplete_beta_and_gamma() {
    for &(a, b, x, want) in BETA_INC {
        let got = regularized_beta(a, b, x);
        assert_rel(&format!("regularized_beta({a}, {b}, {x})"), got, want, DIST);
    }
    for &(a, x, p, q) in GAMMA_INC {
        assert_rel(
            &format!("gamma_p({a}, {x})"),
            regularized_gamma_p(a, x),
            p,
            DIST,
        );
        assert_rel(
            &format!("gamma_q({a}, {x})"),
            regularized_gamma_q(a, x),
            q,
            DIST,
        );
    }
}

#[test]
fn kolmogorov_survival() {
    for &(b, sf) in KOLMOGOROV {
        assert_rel(&format!("kolmogorov_sf({b})"), kolmogorov_sf(b), sf, DIST);
    }
}

fn offset_ns() -> Vec<f64> {
    TIMINGS_A.iter().map(|v| 1e9 + 1000.0 * v).collect()
}

#[test]
fn summaries_and_quantiles() {
    let offset = offset_ns();
    let cases: [(&str, &[f64], _, &[f64]); 3] = [
        (
            "TIMINGS_A",
            TIMINGS_A,
            SUMMARY_TIMINGS_A,
            QUANTILES_TIMINGS_A,
        ),
        ("WEEKLY", WEEKLY, SUMMARY_WEEKLY, QUANTILES_WEEKLY),
        ("OFFSET_NS", &offset, SUMMARY_OFFSET_NS, QUANTILES_OFFSET_NS),
    ];
    for (name, x, (m, var, sd, med, raw_mad, sigma_mad), qs) in cases {
        assert_rel(&format!("mean({name})"), mean(x), m, STAT);
        assert_rel(&format!("variance({name})"), variance(x), var, STAT);
        assert_rel(&format!("std_dev({name})"), std_dev(x), sd, STAT);
        assert_rel(&format!("median({name})"), median(x), med, STAT);
        assert_rel(&format!("mad({name})"), mad(x), raw_mad, STAT);
        assert_rel(&format!("mad_sigma({name})"), mad_sigma(x), sigma_mad, STAT);
        let got = quantiles(x, QUANTILE_LEVELS);
        for ((q, got), want) in QUANTILE_LEVELS.iter().zip(got).zip(qs) {
            assert_rel(&format!("quantile({name}, {q})"), got, *want, STAT);
        }
    }
}

#[test]
fn welch_matches_ttest_ind() {
    let cases = [
        ("A_B", TIMINGS_A, TIMINGS_B, WELCH_A_B),
        ("B_A", TIMINGS_B, TIMINGS_A, WELCH_B_A),
        ("C_D", COUNTS_C, COUNTS_D, WELCH_C_D),
        ("A6_B30", &TIMINGS_A[..6], &TIMINGS_B[..30], WELCH_A6_B30),
    ];
    for (name, a, b, (t, df, p)) in cases {
        let got = welch_t_test(a, b);
        assert_rel(&format!("welch t {name}"), got.t, t, STAT);
        assert_rel(&format!("welch df {name}"), got.df, df, STAT);
        assert_rel(&format!("welch p {name}"), got.p_value, p, STAT);
    }
}

#[test]
fn mann_whitney_matches_mannwhitneyu() {
    let cases = [
        ("A_B", TIMINGS_A, TIMINGS_B, MANN_WHITNEY_A_B),
        ("B_A", TIMINGS_B, TIMINGS_A, MANN_WHITNEY_B_A),
        ("C_D", COUNTS_C, COUNTS_D, MANN_WHITNEY_C_D),
        (
            "A6_B30",
            &TIMINGS_A[..6],
            &TIMINGS_B[..30],
            MANN_WHITNEY_A6_B30,
        ),
    ];
    for (name, a, b, (u, p)) in cases {
        let got = mann_whitney_u(a, b);
        assert_eq!(got.u, u, "U {name}");
        assert_rel(&format!("mann-whitney p {name}"), got.p_value, p, STAT);
    }
}

#[test]
fn mann_kendall_matches_pymannkendall() {
    let cases = [
        ("TRENDING", TRENDING, MANN_KENDALL_TRENDING),
        ("TRENDLESS", TRENDLESS, MANN_KENDALL_TRENDLESS),
        ("COUNTS_C", COUNTS_C, MANN_KENDALL_COUNTS_C),
    ];
    for (name, x, (s, var_s, z, p_pymk, tau, p_sf)) in cases {
        let got = mann_kendall(x);
        assert_eq!(got.s, s, "S {name}");
        assert_rel(&format!("var_s {name}"), got.var_s, var_s, STAT);
        assert_rel(&format!("z {name}"), got.z, z, STAT);
        assert_rel(&format!("tau {name}"), got.tau, tau, STAT);
        assert_rel(&format!("p {name} (2·norm.sf)"), got.p_value, p_sf, STAT);
        // pymannkendall's 1 − cdf carries an absolute error of about 1e-16.
        assert_close(
            &format!("p {name} (pymannkendall)"),
            got.p_value,
            p_pymk,
            0.0,
            1e-15,
        );
    }
}

#[test]
fn theil_sen_matches_theilslopes() {
    let index: Vec<f64> = (0..TRENDING.len()).map(|i| i as f64).collect();
    let cases = [
        ("TRENDING", &index[..], TRENDING, THEIL_SEN_TRENDING),
        ("LINE", LINE_X, LINE_Y, THEIL_SEN_LINE),
    ];
    for (name, x, y, (slope, intercept)) in cases {
        let got = theil_sen(x, y);
        assert_rel(&format!("slope {name}"), got.slope, slope, STAT);
        assert_rel(&format!("intercept {name}"), got.intercept, intercept, STAT);
    }
}

// GENERATED by reference.py: begin
// numpy 2.4.6, scipy 1.17.1, pymannkendall 1.4.3, Python 3.11.7
#[rustfmt::skip]
#[allow(clippy::excessive_precision, clippy::unreadable_literal, clippy::approx_constant)]
mod expected {
    /// Input `TIMINGS_A` (40 values).
    pub const TIMINGS_A: &[f64] = &[
        12.6, 13.0, 12.7, 11.4, 11.2, 12.0,
        12.5, 12.3, 13.1, 12.5, 12.4, 11.6,
        11.3, 12.9, 12.0, 12.5, 11.2, 11.7,
        11.2, 11.5, 12.5, 11.1, 11.7, 12.1,
        11.6, 11.8, 11.9, 12.3, 11.7, 12.2,
        12.0, 12.3, 12.1, 13.0, 11.6, 12.7,
        11.8, 11.4, 12.7, 11.7,
    ];
    /// Input `TIMINGS_B` (34 values).
    pub const TIMINGS_B: &[f64] = &[
        12.2, 11.3, 10.6, 13.1, 11.5, 13.2,
        14.2, 12.4, 11.5, 12.9, 13.2, 12.3,
        12.5, 13.7, 13.6, 13.1, 11.7, 12.5,
        13.0, 12.3, 12.0, 11.8, 11.9, 11.9,
        12.1, 13.5, 11.8, 13.3, 12.9, 12.6,
        11.8, 12.1, 14.3, 12.6,
    ];
    /// Input `COUNTS_C` (25 values).
    pub const COUNTS_C: &[f64] = &[
        1.0, 6.0, 3.0, 4.0, 5.0, 5.0,
        5.0, 2.0, 6.0, 6.0, 4.0, 3.0,
        3.0, 3.0, 6.0, 4.0, 2.0, 2.0,
        2.0, 4.0, 3.0, 1.0, 5.0, 5.0,
        3.0,
    ];
    /// Input `COUNTS_D` (21 values).
    pub const COUNTS_D: &[f64] = &[
        2.0, 4.0, 3.0, 4.0, 3.0, 2.0,
        2.0, 7.0, 5.0, 5.0, 3.0, 6.0,
        7.0, 8.0, 3.0, 2.0, 8.0, 8.0,
        5.0, 8.0, 2.0,
    ];
    /// Input `TRENDING` (48 values).
    pub const TRENDING: &[f64] = &[
        53.0, 51.0, 50.0, 49.0, 51.0, 48.0,
        51.0, 51.0, 51.0, 54.0, 49.0, 52.0,
        52.0, 53.0, 50.0, 52.0, 51.0, 52.0,
        53.0, 53.0, 53.0, 53.0, 54.0, 54.0,
        54.0, 52.0, 53.0, 54.0, 53.0, 53.0,
        55.0, 55.0, 56.0, 56.0, 55.0, 55.0,
        52.0, 55.0, 56.0, 53.0, 56.0, 56.0,
        58.0, 57.0, 59.0, 59.0, 55.0, 57.0,
    ];
    /// Input `TRENDLESS` (36 values).
    pub const TRENDLESS: &[f64] = &[
        19.7, 20.2, 18.9, 21.2, 21.5, 17.0,
        21.9, 18.7, 22.1, 21.1, 19.7, 24.0,
        21.8, 20.1, 20.5, 24.8, 22.8, 21.9,
        20.4, 21.1, 20.3, 16.9, 21.8, 20.8,
        17.3, 18.7, 19.5, 20.7, 23.5, 20.0,
        16.1, 21.3, 19.7, 16.5, 15.4, 17.9,
    ];
    /// Input `WEEKLY` (49 values).
    pub const WEEKLY: &[f64] = &[
        100.15, 100.9, 102.14, 101.69, 101.67, 99.28,
        98.93, 100.98, 103.37, 102.51, 103.12, 102.59,
        100.88, 99.58, 102.39, 103.54, 104.15, 104.37,
        104.47, 101.41, 100.82, 104.09, 105.38, 106.38,
        105.67, 105.72, 103.56, 102.5, 105.56, 106.65,
        106.92, 107.35, 107.64, 105.49, 103.72, 107.37,
        108.64, 109.38, 108.62, 108.72, 105.75, 105.92,
        108.88, 109.5, 110.39, 110.54, 110.28, 107.13,
        107.64,
    ];
    /// Input `LINE_X` (30 values).
    pub const LINE_X: &[f64] = &[
        0.0, 1.0, 1.0, 1.0, 2.0, 2.0,
        3.0, 3.0, 3.0, 3.0, 4.0, 4.0,
        4.0, 4.0, 5.0, 5.0, 5.0, 6.0,
        6.0, 6.0, 7.0, 7.0, 8.0, 8.0,
        9.0, 9.0, 9.0, 9.0, 10.0, 10.0,
    ];
    /// Input `LINE_Y` (30 values).
    pub const LINE_Y: &[f64] = &[
        2.95, 2.69, 2.75, 3.28, 3.51, 2.53,
        4.7, 3.73, 4.7, 1.88, 10.4, 5.75,
        3.76, 3.62, 6.48, 4.96, 4.46, 4.82,
        4.53, 5.95, 6.93, 7.43, 2.23, 9.26,
        11.1, 7.98, 10.11, 8.49, 8.83, 12.08,
    ];
    /// Input `QUANTILE_LEVELS` (10 values).
    pub const QUANTILE_LEVELS: &[f64] = &[
        0.0, 0.01, 0.1, 0.25, 0.5, 0.75,
        0.9, 0.95, 0.99, 1.0,
    ];
    /// `(z, norm.cdf(z), norm.sf(z))`.
    pub const NORMAL: &[(f64, f64, f64)] = &[
        (-37.0, 5.7255712225239266e-300, 1.0),
        (-20.0, 2.7536241186061556e-89, 1.0),
        (-8.0, 6.22096057427174e-16, 0.9999999999999993),
        (-5.0, 2.866515718791933e-07, 0.9999997133484281),
        (-3.0, 0.0013498980316300933, 0.9986501019683699),
        (-1.5, 0.06680720126885807, 0.9331927987311419),
        (-0.5, 0.3085375387259869, 0.6914624612740131),
        (-0.001, 0.49960105778608893, 0.500398942213911),
        (0.0, 0.5, 0.5),
        (0.3, 0.6179114221889526, 0.3820885778110474),
        (1.0, 0.8413447460685429, 0.15865525393145707),
        (1.96, 0.9750021048517795, 0.024997895148220435),
        (2.5, 0.9937903346742238, 0.006209665325776132),
        (4.0, 0.9999683287581669, 3.167124183311986e-05),
        (6.0, 0.9999999990134123, 9.865876450376946e-10),
        (8.0, 0.9999999999999993, 6.22096057427174e-16),
        (10.0, 1.0, 7.61985302416047e-24),
        (20.0, 1.0, 2.7536241186061556e-89),
        (37.0, 1.0, 5.7255712225239266e-300),
    ];
    /// `(x, special.erf(x), special.erfc(x))`.
    pub const ERF: &[(f64, f64, f64)] = &[
        (-3.0, -0.9999779095030014, 1.9999779095030015),
        (-0.4, -0.42839235504666845, 1.4283923550466684),
        (1e-10, 1.1283791670955126e-10, 0.999999999887162),
        (0.1, 0.1124629160182849, 0.8875370839817152),
        (0.46875, 0.492613473217938, 0.507386526782062),
        (0.5, 0.5204998778130465, 0.4795001221869535),
        (1.0, 0.8427007929497148, 0.15729920705028516),
        (2.0, 0.9953222650189527, 0.004677734981047266),
        (3.9, 0.9999999652077514, 3.479224859723178e-08),
        (4.0, 0.9999999845827421, 1.541725790028002e-08),
        (4.1, 0.9999999932999724, 6.7000276540849075e-09),
        (6.0, 1.0, 2.1519736712498913e-17),
        (10.0, 1.0, 2.0884875837625446e-45),
        (20.0, 1.0, 5.395865611607901e-176),
        (26.0, 1.0, 5.663192408856145e-296),
    ];
    /// `(t, df, t.cdf(t, df), 2·t.sf(|t|, df))`.
    pub const STUDENT_T: &[(f64, f64, f64, f64)] = &[
        (0.5, 1.0, 0.6475836176504333, 0.7048327646991335),
        (-2.0, 2.5, 0.07869574787898295, 0.1573914957579659),
        (2.0, 5.0, 0.9490302605850708, 0.10193947882985835),
        (3.5, 10.0, 0.9971367472850574, 0.00572650542988521),
        (-1.2, 30.0, 0.11976517544483119, 0.23953035088966237),
        (4.0, 100.0, 0.9999392381778496, 0.00012152364430076177),
        (2.5, 1000.0, 0.9937107160994546, 0.012578567801090807),
        (1.0, 1000000.0, 0.8413446250832108, 0.3173107498335783),
        (-4.0, 200000.0, 3.168261885401707e-05, 6.336523770803414e-05),
        (10.0, 3.0, 0.9989358004707929, 0.0021283990584141503),
        (30.0, 50.0, 1.0, 1.2380022795987244e-33),
        (1.5, 0.5, 0.7460491046759459, 0.5079017906481084),
        (-3.0, 1.3, 0.07817229544048929, 0.15634459088097857),
        (0.01, 7.0, 0.5038498411781891, 0.9923003176436217),
        (8.0, 3.0, 0.9979617112061072, 0.004076577587785466),
        (50.0, 10.0, 0.9999999999998763, 2.47431032930268e-13),
    ];
    /// `(x, k, chi2.cdf(x, k), chi2.sf(x, k))`.
    pub const CHI_SQUARE: &[(f64, f64, f64, f64)] = &[
        (0.5, 1.0, 0.5204998778130466, 0.47950012218695337),
        (3.841458820694124, 1.0, 0.9500000000000001, 0.04999999999999989),
        (10.0, 3.0, 0.9814338645369568, 0.01856613546304325),
        (50.0, 10.0, 0.9999997330916575, 2.669083424904495e-07),
        (200.0, 150.0, 0.9960268140291784, 0.003973185970821635),
        (1.0, 30.0, 1.4610500924439148e-17, 1.0),
        (1100.0, 1000.0, 0.9853855918737048, 0.014614408126295192),
        (0.01, 2.0, 0.004987520807317688, 0.9950124791926823),
        (30.0, 2.5, 0.9999993252508148, 6.747491852005865e-07),
        (5000.0, 4000.0, 1.0, 1.6633156038804178e-25),
        (0.001, 0.5, 0.16495975076841285, 0.8350402492315872),
        (100.0, 1.0, 1.0, 1.5239706048320995e-23),
        (3.0, 10000.0, 0.0, 1.0),
    ];
    /// `(x, special.gammaln(x))`.
    pub const LN_GAMMA: &[(f64, f64)] = &[
        (1e-08, 18.42068073818021),
        (0.1, 2.252712651734206),
        (0.5, 0.5723649429247),
        (1.0, 0.0),
        (1.5, -0.12078223763524526),
        (2.0, 0.0),
        (2.5, 0.2846828704729192),
        (3.7, 1.428072326665388),
        (10.0, 12.801827480081469),
        (30.5, 72.9534711841694),
        (171.3, 708.1149470389971),
        (10000.0, 82099.71749644238),
        (10000000.0, 151180949.36947393),
    ];
    /// `(a, b, x, special.betainc(a, b, x))`.
    pub const BETA_INC: &[(f64, f64, f64, f64)] = &[
        (0.5, 0.5, 0.3, 0.36901011956554536),
        (2.0, 3.0, 0.4, 0.5247999999999999),
        (10.0, 0.5, 0.9, 0.15164090963470994),
        (0.5, 10.0, 0.01, 0.3420718248432154),
        (50.0, 60.0, 0.45, 0.4642352914306031),
        (500.0, 0.5, 0.999, 0.31731044730971725),
        (0.2, 0.3, 0.7, 0.6804498914169206),
        (10000.0, 20000.0, 0.34, 0.9927137480100278),
        (3.0, 3.0, 0.999999, 1.0),
        (1.0, 1.0, 0.25, 0.25),
        (500000.0, 0.5, 0.99999, 0.0015653640065981895),
    ];
    /// `(a, x, special.gammainc(a, x), special.gammaincc(a, x))`.
    pub const GAMMA_INC: &[(f64, f64, f64, f64)] = &[
        (0.5, 0.1, 0.34527915398142317, 0.6547208460185768),
        (0.5, 2.0, 0.9544997361036415, 0.04550026389635857),
        (1.0, 3.0, 0.950212931632136, 0.04978706836786395),
        (3.0, 0.5, 0.014387677966970684, 0.9856123220330293),
        (10.0, 15.0, 0.9301463393005901, 0.06985366069940986),
        (100.0, 90.0, 0.15822098918643007, 0.84177901081357),
        (100.0, 130.0, 0.9972495916326934, 0.002750408367306518),
        (0.1, 5.0, 0.9998560610341533, 0.00014393896584673387),
        (10000.0, 10100.0, 0.8413487504471796, 0.15865124955282037),
        (100000.0, 98000.0, 9.69083515816044e-11, 0.9999999999030916),
        (25.0, 1.0, 2.466423171731943e-26, 1.0),
        (0.3, 0.3, 0.7269573437103662, 0.2730426562896338),
    ];
    /// `(b, kstwobign.sf(b))`.
    pub const KOLMOGOROV: &[(f64, f64)] = &[
        (0.2, 0.999999999999495),
        (0.3, 0.9999906941986655),
        (0.5, 0.9639452436648751),
        (0.8, 0.5441424115741981),
        (0.99, 0.2808738392255489),
        (1.0, 0.26999967167735456),
        (1.2, 0.11224966667072497),
        (1.36, 0.049485876755377876),
        (1.63, 0.009846364888486529),
        (2.0, 0.0006709252557796953),
        (3.0, 3.045995948942526e-08),
        (5.0, 3.8574996959278356e-22),
    ];
    /// `TIMINGS_A`: mean, var(ddof=1), std(ddof=1), median, median_abs_deviation, median_abs_deviation(scale="normal").
    pub const SUMMARY_TIMINGS_A: (f64, f64, f64, f64, f64, f64) = (12.044999999999998, 0.31741025641025644, 0.5633917432925836, 12.0, 0.4500000000000002, 0.6671709983275211);
    /// `np.quantile(TIMINGS_A, QUANTILE_LEVELS, method="linear")`.
    pub const QUANTILES_TIMINGS_A: &[f64] = &[
        11.1, 11.139, 11.290000000000001, 11.6, 12.0, 12.5,
        12.719999999999999, 13.0, 13.061, 13.1,
    ];
    /// `WEEKLY`: mean, var(ddof=1), std(ddof=1), median, median_abs_deviation, median_abs_deviation(scale="normal").
    pub const SUMMARY_WEEKLY: (f64, f64, f64, f64, f64, f64) = (104.78224489795919, 10.277263605442174, 3.205817150968248, 104.47, 2.6599999999999966, 3.943721901224896);
    /// `np.quantile(WEEKLY, QUANTILE_LEVELS, method="linear")`.
    pub const QUANTILES_WEEKLY: &[f64] = &[
        98.93, 99.098, 100.868, 102.39, 104.47, 107.35,
        108.97999999999999, 109.96799999999999, 110.468, 110.54,
    ];
    /// `OFFSET_NS`: mean, var(ddof=1), std(ddof=1), median, median_abs_deviation, median_abs_deviation(scale="normal").
    pub const SUMMARY_OFFSET_NS: (f64, f64, f64, f64, f64, f64) = (1000012045.0, 317410.25641025644, 563.3917432925837, 1000012000.0, 450.0, 667.1709983275209);
    /// `np.quantile(OFFSET_NS, QUANTILE_LEVELS, method="linear")`.
    pub const QUANTILES_OFFSET_NS: &[f64] = &[
        1000011100.0, 1000011139.0, 1000011290.0, 1000011600.0, 1000012000.0, 1000012500.0,
        1000012720.0, 1000013000.0, 1000013061.0, 1000013100.0,
    ];
    /// `ttest_ind(a, b, equal_var=False)`: statistic, df, pvalue.
    pub const WELCH_A_B: (f64, f64, f64) = (-2.753632648970273, 56.078041331867034, 0.007929225788183272);
    /// `mannwhitneyu(a, b, method="asymptotic", use_continuity=True, alternative="two-sided")`: statistic, pvalue.
    pub const MANN_WHITNEY_A_B: (f64, f64) = (444.0, 0.010548459841262335);
    /// `ttest_ind(a, b, equal_var=False)`: statistic, df, pvalue.
    pub const WELCH_B_A: (f64, f64, f64) = (2.753632648970273, 56.078041331867034, 0.007929225788183272);
    /// `mannwhitneyu(a, b, method="asymptotic", use_continuity=True, alternative="two-sided")`: statistic, pvalue.
    pub const MANN_WHITNEY_B_A: (f64, f64) = (916.0, 0.010548459841262335);
    /// `ttest_ind(a, b, equal_var=False)`: statistic, df, pvalue.
    pub const WELCH_C_D: (f64, f64, f64) = (-1.5234012200961107, 34.40644375600282, 0.13679783106671117);
    /// `mannwhitneyu(a, b, method="asymptotic", use_continuity=True, alternative="two-sided")`: statistic, pvalue.
    pub const MANN_WHITNEY_C_D: (f64, f64) = (212.5, 0.2684720721222128);
    /// `ttest_ind(a, b, equal_var=False)`: statistic, df, pvalue.
    pub const WELCH_A6_B30: (f64, f64, f64) = (-1.0022385126319215, 7.692199938387795, 0.34670905745894076);
    /// `mannwhitneyu(a, b, method="asymptotic", use_continuity=True, alternative="two-sided")`: statistic, pvalue.
    pub const MANN_WHITNEY_A6_B30: (f64, f64) = (68.5, 0.3723757779573975);
    /// `pymannkendall.original_test`: (s, var_s, z, p, Tau), and `2·norm.sf(|z|)`
    /// (pymannkendall's `p` is `2·(1 − norm.cdf(|z|))`, which loses digits when small).
    pub const MANN_KENDALL_TRENDING: (i64, f64, f64, f64, f64, f64) = (754, 12411.333333333334, 6.759051512899665, 1.3889778216480408e-11, 0.6684397163120568, 1.3889800844519416e-11);
    /// `pymannkendall.original_test`: (s, var_s, z, p, Tau), and `2·norm.sf(|z|)`
    /// (pymannkendall's `p` is `2·(1 − norm.cdf(|z|))`, which loses digits when small).
    pub const MANN_KENDALL_TRENDLESS: (i64, f64, f64, f64, f64, f64) = (-125, 5382.333333333333, -1.6901933547720986, 0.09099096929045913, -0.1984126984126984, 0.09099096929045919);
    /// `pymannkendall.original_test`: (s, var_s, z, p, Tau), and `2·norm.sf(|z|)`
    /// (pymannkendall's `p` is `2·(1 − norm.cdf(|z|))`, which loses digits when small).
    pub const MANN_KENDALL_COUNTS_C: (i64, f64, f64, f64, f64, f64) = (-42, 1761.3333333333333, -0.9769291751052579, 0.32860421687005936, -0.14, 0.32860421687005936);
    /// `theilslopes(y, x, method="joint")`: slope, intercept.
    pub const THEIL_SEN_TRENDING: (f64, f64) = (0.15384615384615385, 49.88461538461539);
    /// `theilslopes(y, x, method="joint")`: slope, intercept.
    pub const THEIL_SEN_LINE: (f64, f64) = (0.7762857142857144, 1.7085714285714282);
}
// GENERATED by reference.py: end
