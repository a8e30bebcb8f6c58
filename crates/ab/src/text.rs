//! ab's plain-text report (`output_results()` in ab.c), byte for byte.

use std::io::{self, Write};

use speedup_stats as stats;

use crate::report::AbReport;
use crate::summary::{self, ColumnStats, AB_PERCENTS};

/// Writes ab's text report, from the two blank lines after "done" to the
/// percentile table.
pub fn write_text(r: &AbReport, out: &mut impl Write) -> io::Result<()> {
    let c = &r.counts;
    let secs = r.seconds();
    write!(out, "\n\n")?;
    writeln!(out, "Server Software:        {}", r.server_software)?;
    writeln!(out, "Server Hostname:        {}", r.host)?;
    writeln!(out, "Server Port:            {}", r.port)?;
    if let Some(tls) = &r.tls_protocol {
        writeln!(out, "SSL/TLS Protocol:       {tls}")?;
    }
    if let Some(key) = &r.tls_temp_key {
        writeln!(out, "Server Temp Key:        {key}")?;
    }
    if let Some(name) = &r.tls_server_name {
        writeln!(out, "TLS Server Name:        {name}")?;
    }
    writeln!(out)?;
    writeln!(out, "Document Path:          {}", r.path)?;
    if r.options.variable_length {
        writeln!(out, "Document Length:        Variable")?;
    } else {
        writeln!(out, "Document Length:        {} bytes", c.doc_length)?;
    }
    writeln!(out)?;
    writeln!(out, "Concurrency Level:      {}", r.concurrency)?;
    writeln!(out, "Time taken for tests:   {secs:.3} seconds")?;
    writeln!(out, "Complete requests:      {}", c.complete)?;
    writeln!(out, "Failed requests:        {}", c.failed())?;
    if c.failed() > 0 {
        writeln!(
            out,
            "   (Connect: {}, Receive: {}, Length: {}, Exceptions: {})",
            c.err_connect, c.err_receive, c.err_length, c.err_except
        )?;
    }
    if c.write_errors > 0 {
        writeln!(out, "Write errors:           {}", c.write_errors)?;
    }
    if c.non_2xx > 0 {
        writeln!(out, "Non-2xx responses:      {}", c.non_2xx)?;
    }
    if r.options.keep_alive {
        writeln!(out, "Keep-Alive requests:    {}", c.keep_alive)?;
    }
    writeln!(out, "Total transferred:      {} bytes", c.total_bytes)?;
    if let Some(sent) = r.body_sent {
        writeln!(out, "Total body sent:        {sent}")?;
    }
    writeln!(out, "HTML transferred:       {} bytes", c.body_bytes)?;
    if secs > 0.0 && c.complete > 0 {
        let done = c.complete as f64;
        let read_kb = c.total_bytes as f64 / 1024.0;
        writeln!(
            out,
            "Requests per second:    {:.2} [#/sec] (mean)",
            done / secs
        )?;
        writeln!(
            out,
            "Time per request:       {:.3} [ms] (mean)",
            f64::from(r.concurrency) * secs * 1000.0 / done
        )?;
        writeln!(
            out,
            "Time per request:       {:.3} [ms] (mean, across all concurrent requests)",
            secs * 1000.0 / done
        )?;
        writeln!(
            out,
            "Transfer rate:          {:.2} [Kbytes/sec] received",
            read_kb / secs
        )?;
        if let Some(sent) = r.body_sent {
            let sent_kb = sent as f64 / 1024.0;
            writeln!(
                out,
                "                        {:.2} kb/s sent",
                sent_kb / secs
            )?;
            writeln!(
                out,
                "                        {:.2} kb/s total",
                (read_kb + sent_kb) / secs
            )?;
        }
    }
    if !r.samples.is_empty() {
        write_times(r, out)?;
    }
    Ok(())
}

/// The four columns of the "Connection Times (ms)" table, by ab's rules.
struct Columns {
    connect: ColumnStats,
    processing: ColumnStats,
    waiting: ColumnStats,
    total: ColumnStats,
}

impl Columns {
    fn of(r: &AbReport) -> Columns {
        let column = |f: fn(&speedup_load::Sample) -> u32| {
            let mut v: Vec<u32> = r.samples.iter().map(f).collect();
            ColumnStats::from_us(&mut v)
        };
        Columns {
            connect: column(|s| s.connect_us),
            processing: column(|s| s.processing_us()),
            waiting: column(|s| s.wait_us),
            total: column(|s| s.total_us),
        }
    }
}

fn write_times(r: &AbReport, out: &mut impl Write) -> io::Result<()> {
    let cols = Columns::of(r);
    let rows = [
        ("Connect:    ", &cols.connect, "the initial connection time"),
        ("Processing: ", &cols.processing, "the processing time"),
        ("Waiting:    ", &cols.waiting, "the waiting time"),
        ("Total:      ", &cols.total, "the total time"),
    ];
    writeln!(out, "\nConnection Times (ms)")?;
    if r.options.confidence {
        writeln!(out, "              min  mean[+/-sd] median   max")?;
        for (label, s, _) in rows {
            writeln!(
                out,
                "{label}{:5} {:4} {:5.1} {:6} {:7}",
                s.min, s.mean, s.sd, s.median, s.max
            )?;
        }
        for (_, s, what) in rows {
            let d = (s.mean as f64 - s.median as f64).abs();
            if d > 2.0 * s.sd {
                writeln!(
                    out,
                    "ERROR: The median and mean for {what} are more than twice the standard\n       \
                     deviation apart. These results are NOT reliable."
                )?;
            } else if d > s.sd {
                writeln!(
                    out,
                    "WARNING: The median and mean for {what} are not within a normal deviation\n        \
                     These results are probably not that reliable."
                )?;
            }
        }
    } else {
        writeln!(out, "              min   avg   max")?;
        for (label, s, _) in rows {
            writeln!(out, "{label}{:5} {:5}{:5}", s.min, s.mean, s.max)?;
        }
    }
    if r.options.percentiles && r.samples.len() > 1 {
        writeln!(
            out,
            "\nPercentage of the requests served within a certain time (ms)"
        )?;
        for p in AB_PERCENTS {
            let us = stats::percentile(&r.samples, p).map_or(0, |s| u64::from(s.total_us));
            let ms = summary::round_ms(us);
            if p >= 100 {
                writeln!(out, " 100%  {ms:5} (longest request)")?;
            } else {
                writeln!(out, "  {p}%  {ms:5}")?;
            }
        }
    }
    Ok(())
}
