//! Python's view of a float: `str(float)` formatting and pydantic's parsing.
//!
//! The article's FastAPI endpoints echo the requested sleep back as
//! `f"hello world after {n}s of sleep"` with `n: float`, so the exact bytes a
//! client sees depend on two Python details that Rust does differently:
//!
//! * how pydantic (lax mode) turns a path segment into a float: trim
//!   whitespace, parse, and on failure retry with digit-group underscores
//!   removed;
//! * how `str(float)` lays the shortest round-trip digits out: positional
//!   notation for decimal exponents in `-4..16`, otherwise `d.ddde±XX` with at
//!   least two exponent digits, and always a `.0` on integral values.

/// Formats `x` exactly as Python's `str(x)` / `repr(x)` does for a float.
///
/// Examples: `1.0`, `0.1`, `0.001`, `1e-05`, `1e+16`,
/// `1.2345678901234568e+17`, `-0.0`, `inf`, `nan`.
pub fn format(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` yields the shortest digits that round-trip (the same
    // digits Python's repr picks), e.g. `-1.2345e17`; only the layout differs.
    let scientific = format!("{x:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific;
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if !(-4..16).contains(&exponent) {
        exponential(&digits, exponent)
    } else {
        positional(&digits, exponent)
    };
    format!("{sign}{body}")
}

/// `d.ddde±XX`: Python always signs the exponent and pads it to two digits.
fn exponential(digits: &str, exponent: i32) -> String {
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let fraction = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    format!("{first}{fraction}e{exp_sign}{:02}", exponent.unsigned_abs())
}

/// Positional notation with at least one digit after the point.
fn positional(digits: &str, exponent: i32) -> String {
    if exponent < 0 {
        let zeros = "0".repeat(exponent.unsigned_abs() as usize - 1);
        return format!("0.{zeros}{digits}");
    }
    let integer_len = exponent as usize + 1;
    if digits.len() <= integer_len {
        let zeros = "0".repeat(integer_len - digits.len());
        format!("{digits}{zeros}.0")
    } else {
        let (integer, fraction) = digits.split_at(integer_len);
        format!("{integer}.{fraction}")
    }
}

/// Parses a path segment into a float the way pydantic's lax float validator
/// does, or `None` where pydantic reports `float_parsing`.
///
/// Accepts what Rust's `f64` parser accepts after trimming (`.001`, `1.`,
/// `+1e-3`, `inf`, `nan`, ...), then retries with underscores removed when
/// they sit inside the text (`1_000`), as pydantic-core does. Rejects `0x10`,
/// `abc` and the empty string. Range checks (finite, non-negative) are the
/// caller's job, exactly as pydantic parses first and constrains second.
pub fn parse(raw: &str) -> Option<f64> {
    let text = raw.trim();
    if let Ok(value) = text.parse::<f64>() {
        return Some(value);
    }
    strip_underscores(text)?.parse::<f64>().ok()
}

/// Removes digit-group underscores; `None` when there are none or they are
/// misplaced (leading, trailing or doubled), which pydantic-core treats as a
/// parse failure rather than something to strip.
fn strip_underscores(text: &str) -> Option<String> {
    if !text.contains('_') || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    Some(text.replace('_', ""))
}

#[cfg(test)]
mod tests {
    use super::{format, parse};

    #[test]
    fn formats_like_python_str() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1e-3, "0.001"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123_456_789_012_345_680.0, "1.2345678901234568e+17"),
            (1e100, "1e+100"),
            (1e-300, "1e-300"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.5, "1.5"),
            (60.0, "60.0"),
            (-2.5, "-2.5"),
            (12.345, "12.345"),
            (9_999_999_999_999_998.0, "9999999999999998.0"),
            (0.3 + 0.6, "0.8999999999999999"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for &(value, expected) in cases {
            assert_eq!(format(value), expected, "str({value:?})");
        }
    }

    #[test]
    fn parses_like_pydantic() {
        let accepted: &[(&str, f64)] = &[
            ("0.1", 0.1),
            (".001", 0.001),
            ("1.", 1.0),
            ("+1e-3", 0.001),
            ("1E3", 1000.0),
            (" 2.5 ", 2.5),
            ("\t3\n", 3.0),
            ("1_0", 10.0),
            ("1_000.000_1", 1000.0001),
            ("-1", -1.0),
            ("-0", -0.0),
        ];
        for &(text, expected) in accepted {
            let parsed = parse(text);
            assert_eq!(parsed, Some(expected), "parse({text:?})");
        }
        for text in [
            "abc", "", " ", "0x10", "1e", "e5", ".", "_1", "1_", "1__0", "1,5",
        ] {
            assert_eq!(parse(text), None, "parse({text:?}) should fail");
        }
    }

    #[test]
    fn parses_non_finite_spellings_for_the_caller_to_reject() {
        for text in ["inf", "-inf", "Infinity", "INF", "+inf"] {
            assert!(parse(text).is_some_and(f64::is_infinite), "{text}");
        }
        for text in ["nan", "NaN", "-nan"] {
            assert!(parse(text).is_some_and(f64::is_nan), "{text}");
        }
    }

    #[test]
    fn negative_zero_keeps_its_sign() {
        let parsed = parse("-0.0");
        assert!(parsed.is_some_and(|x| x == 0.0 && x.is_sign_negative()));
        assert_eq!(parsed.map(format).as_deref(), Some("-0.0"));
    }
}
