//! Default value formats: thousands separators and one-decimal percentages, the way the
//! plant reads numbers (PRODUCT §1). Locale-specific units are the caller's `Format::Custom`.

/// `1234567` → `1,234,567`; `12.34` → `12.3`; non-finite → `0`.
pub fn number(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    // Beyond 2^53 there is no fraction left, and `value * 10` could overflow.
    let rounded = if value.abs() < 9e15 {
        (value * 10.0).round() / 10.0
    } else {
        value
    };
    if rounded.fract() == 0.0 {
        group(&format!("{rounded:.0}"))
    } else {
        group(&format!("{rounded:.1}"))
    }
}

/// `87.46` → `87.5%` (the value is already a percentage, 0–100).
pub fn percent(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let mut text = group(&format!("{value:.1}"));
    text.push('%');
    text
}

/// Inserts a comma every three digits of the integer part of a plain decimal string.
fn group(plain: &str) -> String {
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(rest) if rest.bytes().any(|b| b.is_ascii_digit() && b != b'0') => ("-", rest),
        Some(rest) => ("", rest),
        None => ("", plain),
    };
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(plain.len() + int.len() / 3);
    out.push_str(sign);
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators_and_at_most_one_decimal() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(1000.0), "1,000");
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(12.96), "13");
        assert_eq!(number(-1234.5), "-1,234.5");
        assert_eq!(number(-0.01), "0");
        assert_eq!(number(f64::NAN), "0");
        assert_eq!(number(f64::INFINITY), "0");
        assert_eq!(number(1e15), "1,000,000,000,000,000");
        assert!(number(f64::MAX).starts_with("179,769,313,486,231,57"));
    }

    #[test]
    fn percentages_have_one_decimal() {
        assert_eq!(percent(87.46), "87.5%");
        assert_eq!(percent(100.0), "100.0%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(f64::NAN), "0.0%");
    }
}
