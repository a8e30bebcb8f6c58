//! pydantic's lax `int` parsing of a path segment, as FastAPI applies it to
//! `n: int` (the fibo endpoints).
//!
//! Checked against pydantic 2 (`TypeAdapter(int).validate_python(text)`):
//! surrounding Unicode whitespace is trimmed (Rust's `trim`, which is what
//! pydantic-core uses: `\u{a0}` goes, `\x1c` stays); one `+` or `-`; digit
//! groups may be split by single underscores (`3_0`, not `_30`, `30_` or
//! `3__0`); a fraction of zeros is accepted (`30.0`, `30.00`, not `30.`,
//! `30.5`, `.0` or `30.0_0`); no exponent, no hex, no non-ASCII digits.
//! More than 4300 digits (Python's `int` limit, counting a `-` and not
//! leading zeros) is `int_parsing_size`.

/// Why a segment is not an `int` for pydantic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    /// `int_parsing`: not an integer at all.
    Parsing,
    /// `int_parsing_size`: more digits than Python parses.
    Size,
}

/// Python's default `sys.get_int_max_str_digits()`.
const MAX_DIGITS: usize = 4300;

/// Parses `raw` as pydantic's lax int validator does.
///
/// Values beyond `i64` saturate to `i64::MIN`/`i64::MAX`: every caller bounds
/// `n` far below that, so the bound check rejects them with the input echoed,
/// as FastAPI does with Python's unbounded ints.
pub fn parse(raw: &str) -> Result<i64, IntError> {
    let text = raw.trim();
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let integer = match unsigned.split_once('.') {
        Some((integer, fraction)) => {
            if fraction.is_empty() || !fraction.bytes().all(|b| b == b'0') {
                return Err(IntError::Parsing);
            }
            integer
        }
        None => unsigned,
    };
    let digits = digits_without_underscores(integer).ok_or(IntError::Parsing)?;
    let significant = digits.trim_start_matches('0');
    if significant.len() + usize::from(negative) > MAX_DIGITS {
        return Err(IntError::Size);
    }
    let magnitude = significant.parse::<i64>().unwrap_or(match significant {
        "" => 0,
        _ => i64::MAX,
    });
    Ok(if negative { -magnitude } else { magnitude })
}

/// ASCII digits with single underscores between them removed; `None` for
/// anything else (empty, a sign, misplaced underscores, other characters).
fn digits_without_underscores(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.first() != Some(&b'_')
        && bytes.last() != Some(&b'_')
        && !text.contains("__")
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_');
    well_formed.then(|| text.replace('_', ""))
}

#[cfg(test)]
mod tests {
    use super::{parse, IntError};

    #[test]
    fn accepts_what_pydantic_accepts() {
        let accepted: &[(&str, i64)] = &[
            ("30", 30),
            (" 30", 30),
            ("30 ", 30),
            ("\t30\n", 30),
            ("\u{a0}30", 30),
            ("\u{3000}30", 30),
            ("30.0", 30),
            ("30.00", 30),
            (" 30.0 ", 30),
            ("3_0", 30),
            ("3_0.0", 30),
            ("0_30", 30),
            ("1_0_0", 100),
            ("+30", 30),
            ("+30.0", 30),
            ("-3", -3),
            ("-30.0", -30),
            ("030", 30),
            ("0030.0", 30),
            ("00", 0),
            ("-0", 0),
            ("-00", 0),
            ("0.0", 0),
            ("-0.0", 0),
            ("1000000000000000000000000000000", i64::MAX),
            ("-1000000000000000000000000000000", -i64::MAX),
        ];
        for &(text, expected) in accepted {
            assert_eq!(parse(text), Ok(expected), "parse({text:?})");
        }
    }

    #[test]
    fn rejects_what_pydantic_rejects() {
        for text in [
            "30.5",
            "30.",
            ".0",
            "30.0_0",
            "30._0",
            "30.0_",
            "30.0.0",
            "30.00000000000000000001",
            "3__0",
            "_30",
            "30_",
            "+_30",
            "+-3",
            "--3",
            "- 3",
            "3 0",
            "0x1e",
            "1e1",
            "30e0",
            "30.0e0",
            "30,0",
            "abc",
            "",
            "nan",
            "inf",
            "\u{ff13}\u{ff10}",
            "\u{663}",
            "\u{1c}30",
            "\u{200b}30",
        ] {
            assert_eq!(parse(text), Err(IntError::Parsing), "parse({text:?})");
        }
    }

    #[test]
    fn size_limit_is_pythons_4300_digits() {
        let ones = |n| "1".repeat(n);
        assert_eq!(parse(&ones(4300)), Ok(i64::MAX));
        assert_eq!(parse(&format!("+{}", ones(4300))), Ok(i64::MAX));
        assert_eq!(parse(&format!("{}.00", ones(4300))), Ok(i64::MAX));
        assert_eq!(parse(&format!("1_{}", ones(4299))), Ok(i64::MAX));
        assert_eq!(parse(&format!("-{}", ones(4299))), Ok(-i64::MAX));
        assert_eq!(parse(&format!("{}1", "0".repeat(5000))), Ok(1));
        assert_eq!(parse(&format!("-{}1", "0".repeat(4300))), Ok(-1));
        assert_eq!(parse(&ones(4301)), Err(IntError::Size));
        assert_eq!(parse(&format!("-{}", ones(4300))), Err(IntError::Size));
    }
}
