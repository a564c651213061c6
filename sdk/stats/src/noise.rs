//! Deterministic Gaussian noise (xorshift64* and Box-Muller), for simulations in skills (a
//! permutation or Monte Carlo check) and for tests that need the same noise on every run.

/// A seeded source of standard normal values; the same seed gives the same sequence on every
/// platform. Seed it with any non-zero number.
#[derive(Clone, Debug)]
pub struct Gaussian(pub u64);

impl Gaussian {
    /// Uniform in (0, 1), never 0 or 1.
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (bits as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}
