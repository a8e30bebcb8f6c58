//! ab's `-w` report: the same figures in an HTML table
//! (`output_html_results()` in ab.c), byte for byte.
//!
//! ab's HTML variant is older and simpler than its text report: no Receive
//! column, no Waiting row, no sd or median, and averages taken from sums
//! already rounded to whole ms. We keep those quirks.

use std::io::{self, Write};

use crate::report::{AbReport, HtmlAttrs};
use crate::summary::round_ms;

/// Writes ab's HTML report, from the two blank lines to `</table>`.
pub fn write_html(r: &AbReport, attrs: &HtmlAttrs, out: &mut impl Write) -> io::Result<()> {
    let (tr, td) = (&attrs.tr, &attrs.td);
    let c = &r.counts;
    let secs = r.seconds();
    let row = |out: &mut dyn Write, label: &str, value: &str| {
        writeln!(
            out,
            "<tr {tr}><th colspan=2 {td}>{label}:</th><td colspan=2 {td}>{value}</td></tr>"
        )
    };
    write!(out, "\n\n<table {}>\n", attrs.table)?;
    row(out, "Server Software", &r.server_software)?;
    row(out, "Server Hostname", &r.host)?;
    row(out, "Server Port", &r.port.to_string())?;
    row(out, "Document Path", &r.path)?;
    if r.options.variable_length {
        row(out, "Document Length", "Variable")?;
    } else {
        row(out, "Document Length", &format!("{} bytes", c.doc_length))?;
    }
    row(out, "Concurrency Level", &r.concurrency.to_string())?;
    row(out, "Time taken for tests", &format!("{secs:.3} seconds"))?;
    row(out, "Complete requests", &c.complete.to_string())?;
    row(out, "Failed requests", &c.failed().to_string())?;
    if c.failed() > 0 {
        writeln!(
            out,
            "<tr {tr}><td colspan=4 {td} >   (Connect: {}, Length: {}, Exceptions: {})</td></tr>",
            c.err_connect, c.err_length, c.err_except
        )?;
    }
    if c.non_2xx > 0 {
        row(out, "Non-2xx responses", &c.non_2xx.to_string())?;
    }
    if r.options.keep_alive {
        row(out, "Keep-Alive requests", &c.keep_alive.to_string())?;
    }
    row(
        out,
        "Total transferred",
        &format!("{} bytes", c.total_bytes),
    )?;
    if let Some(sent) = r.body_sent {
        row(out, "Total body sent", &sent.to_string())?;
    }
    row(out, "HTML transferred", &format!("{} bytes", c.body_bytes))?;
    if secs > 0.0 {
        let read_kb = c.total_bytes as f64 / 1024.0;
        row(
            out,
            "Requests per second",
            &format!("{:.2}", c.complete as f64 / secs),
        )?;
        row(
            out,
            "Transfer rate",
            &format!("{:.2} kb/s received", read_kb / secs),
        )?;
        if let Some(sent) = r.body_sent {
            let sent_kb = sent as f64 / 1024.0;
            for (rate, what) in [(sent_kb, "sent"), (read_kb + sent_kb, "total")] {
                writeln!(
                    out,
                    "<tr {tr}><td colspan=2 {td}>&nbsp;</td><td colspan=2 {td}>{:.2} kb/s {what}</td></tr>",
                    rate / secs
                )?;
            }
        }
    }
    if !r.samples.is_empty() {
        write_times(r, attrs, out)?;
    }
    writeln!(out, "</table>")
}

fn write_times(r: &AbReport, attrs: &HtmlAttrs, out: &mut impl Write) -> io::Result<()> {
    let (tr, td) = (&attrs.tr, &attrs.td);
    let s = &r.samples;
    let count = s.len() as i64;
    let min_con = s.iter().map(|x| x.connect_us).min().unwrap_or(0);
    let max_con = s.iter().map(|x| x.connect_us).max().unwrap_or(0);
    let min_tot = s.iter().map(|x| x.total_us).min().unwrap_or(0);
    let max_tot = s.iter().map(|x| x.total_us).max().unwrap_or(0);
    let sum_con: u64 = s.iter().map(|x| u64::from(x.connect_us)).sum();
    let sum_tot: u64 = s.iter().map(|x| u64::from(x.total_us)).sum();
    // ab rounds the extremes and the *sums* to ms, then divides.
    let ms = |us: u64| round_ms(us) as i64;
    let (min_con, max_con) = (ms(min_con.into()), ms(max_con.into()));
    let (min_tot, max_tot) = (ms(min_tot.into()), ms(max_tot.into()));
    let (total_con, total) = (ms(sum_con), ms(sum_tot));
    writeln!(
        out,
        "<tr {tr}><th {td} colspan=4>Connection Times (ms)</th></tr>"
    )?;
    writeln!(
        out,
        "<tr {tr}><th {td}>&nbsp;</th> <th {td}>min</th>   <th {td}>avg</th>   <th {td}>max</th></tr>"
    )?;
    let rows = [
        ("Connect", min_con, total_con / count, max_con),
        (
            "Processing",
            min_tot - min_con,
            total / count - total_con / count,
            max_tot - max_con,
        ),
        ("Total", min_tot, total / count, max_tot),
    ];
    for (label, min, avg, max) in rows {
        writeln!(
            out,
            "<tr {tr}><th {td}>{label}:</th><td {td}>{min:5}</td><td {td}>{avg:5}</td><td {td}>{max:5}</td></tr>"
        )?;
    }
    Ok(())
}
