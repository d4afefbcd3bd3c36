//! Number formatting exactly as Go's `strconv` does it, for the forms sops uses.

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent;
/// `+Inf`, `-Inf`, `NaN` for the non-finite values.
pub fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        // Rust's Display prints the shortest round-trip digits without an exponent,
        // exactly like Go's 'f' with precision -1.
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_f_format() {
        assert_eq!(format_float_f(25.4), "25.4");
        assert_eq!(format_float_f(2.0), "2");
        assert_eq!(format_float_f(1e21), "1000000000000000000000");
        assert_eq!(format_float_f(1e-7), "0.0000001");
        assert_eq!(format_float_f(1234568000.0), "1234568000");
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
        assert_eq!(format_float_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float_f(f64::NAN), "NaN");
        assert_eq!(format_float_f(-0.5), "-0.5");
    }
}
