//! Reading ab's `-e` CSV: real ab's files parse, everything else is refused
//! with the file and line named.

mod plot_support;

use std::path::Path;

use plot_support::ab_csv;
use speedup_report::cdf_csv::{Cdf, CdfError, CdfProblem};

/// Parses `text` as file `t.csv`, expecting a format error; returns its line
/// and problem.
fn reject(text: &str) -> (usize, CdfProblem, String) {
    match Cdf::from_reader("t.csv", text.as_bytes()) {
        Err(err @ CdfError::Format { .. }) => {
            let message = err.to_string();
            let CdfError::Format { line, problem, .. } = err else {
                unreachable!("matched above")
            };
            (line, problem, message)
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn real_ab_csv_parses() {
    let cdf = Cdf::from_path(&data("real-ab-n200.csv")).expect("real ab output parses");
    assert_eq!(cdf.name, "real-ab-n200");
    assert_eq!(cdf.points.len(), 101);
    assert_eq!(cdf.points[0].0, 0.0);
    assert_eq!(cdf.points[100].0, 100.0);
    assert!(cdf.points.windows(2).all(|w| w[0].1 <= w[1].1));
    // Row 95 is ab's own p95; reading it back is all `ms_at` does.
    let row95: f64 = std::fs::read_to_string(data("real-ab-n200.csv"))
        .unwrap()
        .lines()
        .nth(96)
        .and_then(|l| l.split_once(','))
        .and_then(|(_, ms)| ms.parse().ok())
        .unwrap();
    assert_eq!(cdf.ms_at(95), Some(row95));
    assert_eq!(cdf.ms_at(101), None);
}

#[test]
fn real_ab_garbage_row_with_small_n_is_explained() {
    // Apache ab 2.3 with -n 50 reads past its data for the 99% row.
    let err = Cdf::from_path(&data("real-ab-n50.csv")).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("real-ab-n50.csv:101:"), "{message}");
    assert!(message.contains("-n is 50 or less"), "{message}");
}

#[test]
fn crlf_bom_and_trailing_blank_lines_are_accepted() {
    let text = format!("\u{feff}{}\n\n", ab_csv(f64::from).replace('\n', "\r\n"));
    let cdf = Cdf::from_reader("w.csv", text.as_bytes()).unwrap();
    assert_eq!(cdf.points[100], (100.0, 100.0));
    // No trailing newline at all is fine too.
    let text = ab_csv(f64::from);
    let cdf = Cdf::from_reader("w.csv", text.trim_end().as_bytes()).unwrap();
    assert_eq!(cdf.points.len(), 101);
}

#[test]
fn empty_file_is_refused() {
    let (line, problem, message) = reject("");
    assert_eq!((line, problem), (1, CdfProblem::Empty));
    assert!(message.starts_with("t.csv:1: file is empty"), "{message}");
}

#[test]
fn wrong_header_is_refused() {
    let text = ab_csv(f64::from).replace("Percentage served", "Percent");
    let (line, problem, message) = reject(&text);
    assert_eq!(line, 1);
    assert!(matches!(problem, CdfProblem::Header { .. }));
    assert!(
        message.contains("expected the header `Percentage served,Time in ms`"),
        "{message}"
    );
}

#[test]
fn bad_number_is_refused_with_its_line() {
    let text = ab_csv(f64::from).replace("\n1,1.000\n", "\n1,abc\n");
    let (line, problem, message) = reject(&text);
    assert_eq!(line, 3);
    assert_eq!(
        problem,
        CdfProblem::Row {
            found: "1,abc".into()
        }
    );
    assert_eq!(
        message,
        "t.csv:3: expected `<percent>,<ms>` (e.g. `50,12.345`), found `1,abc`"
    );
    for bad in ["1;1.0", "1.5,1.0", "1,-1.0", "1,inf", "1,NaN", "1"] {
        let text = ab_csv(f64::from).replace("\n1,1.000\n", &format!("\n{bad}\n"));
        assert_eq!(reject(&text).0, 3, "{bad}");
    }
}

#[test]
fn percentages_out_of_order_are_refused() {
    let text = ab_csv(f64::from).replace("\n5,5.000\n", "\n6,5.000\n");
    let (line, problem, message) = reject(&text);
    assert_eq!(line, 7);
    assert_eq!(
        problem,
        CdfProblem::Percent {
            expected: 5,
            found: 6
        }
    );
    assert!(
        message.contains("percentages must rise from 0 to 100"),
        "{message}"
    );
}

#[test]
fn decreasing_times_are_refused() {
    let text = ab_csv(f64::from).replace("\n50,50.000\n", "\n50,10.000\n");
    let (line, problem, _) = reject(&text);
    assert_eq!(line, 52);
    assert!(matches!(
        problem,
        CdfProblem::TimeDecreasing { percent: 50, .. }
    ));
}

#[test]
fn missing_rows_are_refused() {
    let full = ab_csv(f64::from);
    let cut: String = full.lines().take(60).map(|l| format!("{l}\n")).collect();
    let (line, problem, message) = reject(&cut);
    assert_eq!(line, 61);
    assert_eq!(problem, CdfProblem::Truncated { last: "58".into() });
    assert!(message.contains("expected rows up to 100"), "{message}");
    let (line, _, message) = reject("Percentage served,Time in ms\n");
    assert_eq!(line, 2);
    assert!(message.contains("no rows after the header"), "{message}");
}

#[test]
fn rows_after_100_are_refused() {
    let text = format!("{}101,500.000\n", ab_csv(f64::from));
    let (line, problem, _) = reject(&text);
    assert_eq!(line, 103);
    assert!(matches!(problem, CdfProblem::Trailing { .. }));
}

#[test]
fn binary_input_is_refused() {
    let (line, problem, _) = match Cdf::from_reader("t.csv", &b"\xff\xfe\x00garbage"[..]) {
        Err(CdfError::Format {
            line,
            problem,
            file,
        }) => (line, problem, file),
        other => panic!("expected a format error, got {other:?}"),
    };
    assert_eq!((line, problem), (1, CdfProblem::NotText));
}

#[test]
fn missing_file_names_the_path() {
    let err = Cdf::from_path(Path::new("no/such/dir/x.csv")).unwrap_err();
    assert!(matches!(err, CdfError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot read no/such/dir/x.csv:"),
        "{err}"
    );
}

/// An endless input (`/dev/zero`, `yes ''`) of `byte` that fails the test
/// once `limit` bytes were taken: a reader without a bound is caught before
/// it takes the machine's memory.
struct Endless {
    byte: u8,
    given: usize,
    limit: usize,
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        assert!(
            self.given < self.limit,
            "read {} bytes of an endless file without stopping",
            self.given
        );
        buf.fill(self.byte);
        self.given += buf.len();
        Ok(buf.len())
    }
}

/// `head`, then endless `byte`s, as the parser reads a file.
fn endless(head: &str, byte: u8) -> impl std::io::BufRead + '_ {
    let tail = Endless {
        byte,
        given: 0,
        limit: 8 << 20,
    };
    std::io::BufReader::new(std::io::Read::chain(head.as_bytes(), tail))
}

#[test]
fn an_endless_line_is_refused_at_the_line_cap() {
    for head in ["", "Percentage served,Time in ms\n0,1.0\n"] {
        let err = Cdf::from_reader("zero", endless(head, 0)).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(
                err,
                CdfError::Format {
                    problem: CdfProblem::LineTooLong { .. },
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.starts_with("zero:"), "{message}");
        assert!(message.contains("longer than 1024 bytes"), "{message}");
    }
}

#[test]
fn endless_blank_lines_are_refused_at_the_size_cap() {
    let text = ab_csv(f64::from);
    let err = Cdf::from_reader("yes", endless(&text, b'\n')).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            CdfError::Format {
                problem: CdfProblem::TooBig { .. },
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("longer than 1048576 bytes"), "{message}");
}

#[test]
fn control_characters_from_the_file_are_escaped_in_errors() {
    let hostile = "\u{1b}]0;owned\u{7}\r\u{1b}[2J\0";
    for (text, line) in [
        (format!("Percentage{hostile}\n"), 1),
        (
            ab_csv(f64::from).replace("\n1,1.000\n", &format!("\n1,{hostile}\n")),
            3,
        ),
        (format!("{}{hostile}\n", ab_csv(f64::from)), 103),
    ] {
        let (at, _, message) = reject(&text);
        assert_eq!(at, line, "{message}");
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(
            message.contains(r"\u{1b}]0;owned\u{7}\r\u{1b}[2J\0"),
            "{message}"
        );
    }
    // The file's own name too.
    let err = Cdf::from_path(Path::new("no/such/\u{1b}[2Jx.csv")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(r"cannot read no/such/\u{1b}[2Jx.csv:"),
        "{err}"
    );
}
