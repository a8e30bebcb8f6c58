#!/usr/bin/env python3
"""Independent derivation of ab 2.3's report, CSV and TSV for the fixed sample
sets used by ab_golden.rs, written straight from ab.c's formulas and printf
formats (Python's % operator formats like C's printf). Regenerate with
`python3 gen_ab_golden.py` in this directory; the Rust tests never run it."""
import math, time

def rms(us): return (us + 500) // 1000

def sets():
    ten = [  # (start_us, connect, wait, total)
        (0, 100, 900, 1200), (50, 200, 1800, 2300), (1300, 150, 2500, 3100),
        (2400, 300, 700, 1100), (3600, 120, 4000, 4600), (4000, 90, 1500, 1900),
        (4500, 110, 2900, 3400), (5200, 400, 9000, 10000), (6000, 130, 1100, 1500),
        (8000, 100, 2000, 2600)]
    one = [(0, 250, 3000, 3499)]
    thousand = [(i * 97, (i * 37) % 500, 1000 + (i * 7919) % 20000, 0) for i in range(1000)]
    thousand = [(s, c, w, c + w + (i * 13) % 700) for i, (s, c, w, _) in enumerate(thousand)]
    return {"ten": ten, "one": one, "thousand": thousand}

def median(v):
    n = len(v)
    if n > 1 and n % 2: return (v[n // 2] + v[n // 2 + 1]) // 2
    return v[n // 2]

def column(v):
    v = sorted(v); n = len(v); mean = sum(v) // n
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1)) if n > 1 else 0.0
    return rms(v[0]), rms(mean), sd / 1000.0, rms(median(v)), rms(v[-1])

def report(samples, conf=True, perc=True, keepalive=False, nolength=False, sent=None):
    c = COUNTS[len(samples)]
    if nolength:
        c = dict(c, len=0)  # -l: lengths are never compared
    t = ELAPSED_US / 1e6
    o = "\n\n"
    o += "Server Software:        %s\n" % "golden/1.0"
    o += "Server Hostname:        %s\n" % "127.0.0.1"
    o += "Server Port:            %d\n" % 8000
    o += "\n"
    o += "Document Path:          %s\n" % "/x?y=1"
    o += "Document Length:        Variable\n" if nolength else "Document Length:        %d bytes\n" % c["doclen"]
    o += "\n"
    o += "Concurrency Level:      %d\n" % 2
    o += "Time taken for tests:   %.3f seconds\n" % t
    o += "Complete requests:      %d\n" % len(samples)
    bad = c["conn"] + c["recv"] + c["len"] + c["exc"]
    o += "Failed requests:        %d\n" % bad
    if bad: o += "   (Connect: %d, Receive: %d, Length: %d, Exceptions: %d)\n" % (c["conn"], c["recv"], c["len"], c["exc"])
    if c["non2xx"]: o += "Non-2xx responses:      %d\n" % c["non2xx"]
    if keepalive: o += "Keep-Alive requests:    %d\n" % c["ka"]
    o += "Total transferred:      %d bytes\n" % c["total"]
    if sent is not None: o += "Total body sent:        %d\n" % sent
    o += "HTML transferred:       %d bytes\n" % c["body"]
    n = len(samples)
    o += "Requests per second:    %.2f [#/sec] (mean)\n" % (n / t)
    o += "Time per request:       %.3f [ms] (mean)\n" % (2 * t * 1000 / n)
    o += "Time per request:       %.3f [ms] (mean, across all concurrent requests)\n" % (t * 1000 / n)
    o += "Transfer rate:          %.2f [Kbytes/sec] received\n" % (c["total"] / 1024 / t)
    if sent is not None:
        o += "                        %.2f kb/s sent\n" % (sent / 1024 / t)
        o += "                        %.2f kb/s total\n" % ((c["total"] + sent) / 1024 / t)
    cols = [column([s[1] for s in samples]), column([s[3] - s[1] for s in samples]),
            column([s[2] for s in samples]), column([s[3] for s in samples])]
    names = ["Connect:    ", "Processing: ", "Waiting:    ", "Total:      "]
    whats = ["the initial connection time", "the processing time", "the waiting time", "the total time"]
    o += "\nConnection Times (ms)\n"
    if conf:
        o += "              min  mean[+/-sd] median   max\n"
        for nm, (mi, me, sd, md, ma) in zip(names, cols):
            o += nm + "%5d %4d %5.1f %6d %7d\n" % (mi, me, sd, md, ma)
        for w, (mi, me, sd, md, ma) in zip(whats, cols):
            d = abs(float(me) - md)
            if d > 2 * sd:
                o += "ERROR: The median and mean for " + w + " are more than twice the standard\n       deviation apart. These results are NOT reliable.\n"
            elif d > sd:
                o += "WARNING: The median and mean for " + w + " are not within a normal deviation\n        These results are probably not that reliable.\n"
    else:
        o += "              min   avg   max\n"
        for nm, (mi, me, sd, md, ma) in zip(names, cols):
            o += nm + "%5d %5d%5d\n" % (mi, me, ma)
    st = sorted(samples, key=lambda s: s[3])
    if perc and n > 1:
        o += "\nPercentage of the requests served within a certain time (ms)\n"
        for p in [50, 66, 75, 80, 90, 95, 98, 99, 100]:
            if p >= 100: o += " 100%%  %5d (longest request)\n" % rms(st[n - 1][3])
            else: o += "  %d%%  %5d\n" % (p, rms(st[n * p // 100][3]))
    return o

def csv(samples):
    st = sorted(samples, key=lambda s: s[3]); n = len(st)
    o = "Percentage served,Time in ms\n"
    for i in range(101):
        if i == 0: k = 0
        elif i == 100: k = n - 1
        else: k = min(int(0.5 + n * i / 100.0), n - 1)  # ab reads past the end here; we clamp
        o += "%d,%.3f\n" % (i, st[k][3] / 1000.0)
    return o

def tsv(samples):
    st = sorted(samples, key=lambda s: s[3])
    o = "starttime\tseconds\tctime\tdtime\tttime\twait\n"
    for s in st:
        us = START_EPOCH_US + s[0]
        sec = us // 1000000
        o += "%s\t%d\t%d\t%d\t%d\t%d\n" % (time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(sec + UTC_OFFSET)),
                                         sec, rms(s[1]), rms(s[3] - s[1]), rms(s[3]), rms(s[2]))
    return o

def html(samples):
    c = COUNTS[len(samples)]; t = ELAPSED_US / 1e6; n = len(samples)
    tr, td = "class=r", "bgcolor=white"
    row = lambda l, v: "<tr %s><th colspan=2 %s>%s:</th><td colspan=2 %s>%s</td></tr>\n" % (tr, td, l, td, v)
    o = "\n\n<table %s>\n" % "border=1"
    o += row("Server Software", "golden/1.0") + row("Server Hostname", "127.0.0.1") + row("Server Port", "8000")
    o += row("Document Path", "/x?y=1") + row("Document Length", "%d bytes" % c["doclen"])
    o += row("Concurrency Level", "2") + row("Time taken for tests", "%.3f seconds" % t)
    o += row("Complete requests", "%d" % n)
    bad = c["conn"] + c["recv"] + c["len"] + c["exc"]
    o += row("Failed requests", "%d" % bad)
    if bad: o += "<tr %s><td colspan=4 %s >   (Connect: %d, Length: %d, Exceptions: %d)</td></tr>\n" % (tr, td, c["conn"], c["len"], c["exc"])
    if c["non2xx"]: o += row("Non-2xx responses", "%d" % c["non2xx"])
    o += row("Keep-Alive requests", "%d" % c["ka"])
    o += row("Total transferred", "%d bytes" % c["total"]) + row("HTML transferred", "%d bytes" % c["body"])
    o += row("Requests per second", "%.2f" % (n / t)) + row("Transfer rate", "%.2f kb/s received" % (c["total"] / 1024 / t))
    mincon = rms(min(s[1] for s in samples)); maxcon = rms(max(s[1] for s in samples))
    mintot = rms(min(s[3] for s in samples)); maxtot = rms(max(s[3] for s in samples))
    totalcon = rms(sum(s[1] for s in samples)); total = rms(sum(s[3] for s in samples))
    o += "<tr %s><th %s colspan=4>Connection Times (ms)</th></tr>\n" % (tr, td)
    o += "<tr %s><th %s>&nbsp;</th> <th %s>min</th>   <th %s>avg</th>   <th %s>max</th></tr>\n" % (tr, td, td, td, td)
    for l, a, b, cc in [("Connect", mincon, totalcon // n, maxcon), ("Processing", mintot - mincon, total // n - totalcon // n, maxtot - maxcon), ("Total", mintot, total // n, maxtot)]:
        o += "<tr %s><th %s>%s:</th><td %s>%5d</td><td %s>%5d</td><td %s>%5d</td></tr>\n" % (tr, td, l, td, a, td, b, td, cc)
    return o + "</table>\n"

ELAPSED_US = 12345678 // 1000  # 12.345 ms
START_EPOCH_US = 1_795_875_927_250_000
UTC_OFFSET = 3600
# The counts the Rust test feeds in through AbTally records (see ab_golden.rs).
COUNTS = {
    10: dict(doclen=5, conn=0, recv=0, len=1, exc=0, non2xx=1, ka=9, total=10 * 100 + 9 * 5 + 6, body=9 * 5 + 6),
    1: dict(doclen=5, conn=0, recv=0, len=0, exc=0, non2xx=0, ka=1, total=105, body=5),
    1000: dict(doclen=5, conn=0, recv=0, len=0, exc=0, non2xx=0, ka=1000, total=105000, body=5000),
}
S = sets()
for name, s in S.items():
    open("ab_%s.txt" % name, "w").write(report(s, keepalive=True))
    open("ab_%s.csv" % name, "w").write(csv(s))
open("ab_ten_sd.txt", "w").write(report(S["ten"], conf=False, perc=False, keepalive=True, sent=4070))
open("ab_ten_variable.txt", "w").write(report(S["ten"], keepalive=True, nolength=True))
open("ab_ten.tsv", "w").write(tsv(S["ten"]))
open("ab_ten.html", "w").write(html(S["ten"]))
