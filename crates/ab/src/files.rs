//! ab's data files: the `-e` CSV of percentages served and the `-g`
//! gnuplot TSV of every request.

use std::io::{self, Write};

use speedup_stats as stats;

use crate::report::AbReport;
use crate::summary::round_ms;

/// Writes ab's `-e` CSV: a header, then 101 rows `i,ms` with `i` from 0 to
/// 100 and the total time at [`stats::cdf_index`] in ms with three
/// decimals. `sorted` must be sorted by total time. Writes only the header
/// when there are no samples (ab writes no file at all then; the caller
/// decides).
pub fn write_csv(sorted: &[speedup_load::Sample], out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "Percentage served,Time in ms")?;
    let totals: Vec<u32> = sorted.iter().map(|s| s.total_us).collect();
    for (i, us) in stats::cdf_rows(&totals) {
        writeln!(out, "{i},{:.3}", stats::ms_f64(u64::from(us)))?;
    }
    Ok(())
}

/// Writes ab's `-g` TSV: a header, then one row per request in the order
/// of [`AbReport::samples`] (sorted by total time, as ab writes it): the
/// local start date as `apr_ctime` prints it, the start in Unix seconds,
/// then connect, processing, total and waiting times in whole ms.
pub fn write_tsv(r: &AbReport, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "starttime\tseconds\tctime\tdtime\tttime\twait")?;
    for s in &r.samples {
        let start_us = r.start_epoch_us + s.start_us;
        let secs = (start_us / 1_000_000) as i64;
        writeln!(
            out,
            "{}\t{secs}\t{}\t{}\t{}\t{}",
            ctime(secs + r.utc_offset_secs),
            round_ms(u64::from(s.connect_us)),
            round_ms(u64::from(s.processing_us())),
            round_ms(u64::from(s.total_us)),
            round_ms(u64::from(s.wait_us)),
        )?;
    }
    Ok(())
}

/// A date as APR's `apr_ctime` writes it, e.g. `Sat Nov 28 14:05:07 2026`
/// (two-digit day, no trailing newline), from seconds since the epoch
/// already shifted to local time.
pub fn ctime(local_secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = local_secs.div_euclid(86_400);
    let rem = local_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        year
    )
}

/// Year, month (1..=12) and day (1..=31) of a day count since 1970-01-01,
/// by Howard Hinnant's proleptic Gregorian algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::ctime;

    #[test]
    fn ctime_matches_apr() {
        assert_eq!(ctime(0), "Thu Jan 01 00:00:00 1970");
        // From a real `ab -g` run here (UTC): 1795875927.
        assert_eq!(ctime(1_795_875_927), "Sat Nov 28 14:25:27 2026");
        assert_eq!(ctime(951_782_400), "Tue Feb 29 00:00:00 2000");
    }
}
