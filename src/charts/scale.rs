//! Linear value scales with "nice" ticks (steps of 1, 2 or 5 × 10ⁿ).

/// A value axis from 0 to the largest value, so the largest bar spans the full length; ticks
/// at a nice step inside that range (the axis end carries no tick unless it is a nice number).
#[derive(Clone, Debug)]
pub(crate) struct Scale {
    pub max: f64,
    pub ticks: Vec<f64>,
}

/// Upper bound on ticks whatever the input, so absurd data cannot blow up the markup.
const MAX_TICKS: usize = 20;

impl Scale {
    /// `data_max` is a cleaned (finite, ≥ 0) value; `target` is about how many ticks fit;
    /// `whole` keeps the step at 1 or more when every value is a whole number (counts of lots
    /// are never read as 0.5).
    pub fn new(data_max: f64, target: usize, whole: bool) -> Scale {
        if !(data_max.is_finite() && data_max > 0.0) {
            return Scale {
                max: 0.0,
                ticks: vec![0.0],
            };
        }
        let mut step = nice_step(data_max / target.max(1) as f64);
        if whole {
            step = step.max(1.0);
        }
        Scale::stepped(data_max, step)
    }

    /// A fixed axis, such as the 0–100 % axis of a Pareto line.
    pub fn stepped(max: f64, step: f64) -> Scale {
        let mut ticks = Vec::new();
        for i in 0..=MAX_TICKS {
            let tick = step * i as f64;
            if !tick.is_finite() || tick > max * (1.0 + 1e-9) {
                break;
            }
            ticks.push(tick);
        }
        Scale { max, ticks }
    }

    /// Where `value` falls on the axis, 0 to 1 (0 for an all-zero axis).
    pub fn frac(&self, value: f64) -> f64 {
        if self.max > 0.0 && value.is_finite() {
            (value / self.max).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at least `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// True when every value is a whole number (then ticks never fall between).
pub(crate) fn all_whole(values: impl IntoIterator<Item = f64>) -> bool {
    values.into_iter().all(|v| v.fract() == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        for (raw, step) in [
            (0.7, 1.0),
            (1.3, 2.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (18.0, 20.0),
            (0.042, 0.05),
        ] {
            assert!(
                (nice_step(raw) - step).abs() < 1e-12,
                "{raw} → {}",
                nice_step(raw)
            );
        }
    }

    #[test]
    fn ticks_start_at_zero_stay_inside_the_range_and_are_evenly_spaced() {
        let scale = Scale::new(87.0, 5, true);
        assert_eq!(scale.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0]);
        assert_eq!(scale.frac(87.0), 1.0);
        let small = Scale::new(3.0, 5, true);
        assert_eq!(small.ticks, vec![0.0, 1.0, 2.0, 3.0]);
        let fractional = Scale::new(1.0, 5, false);
        assert_eq!(fractional.ticks.len(), 6);
    }

    #[test]
    fn zero_and_absurd_maxima_give_a_bounded_axis() {
        assert_eq!(Scale::new(0.0, 5, true).ticks, vec![0.0]);
        assert_eq!(Scale::new(f64::NAN, 5, true).ticks, vec![0.0]);
        let huge = Scale::new(f64::MAX, 5, false);
        assert!(huge.ticks.len() <= MAX_TICKS + 1);
        assert!(huge.ticks.iter().all(|t| t.is_finite()));
        assert_eq!(huge.frac(f64::MAX), 1.0);
    }
}
