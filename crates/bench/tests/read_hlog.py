"""Reads an HdrHistogram interval log with the Python `hdrhistogram` package
(an implementation independent of the Rust crate that wrote it) and prints
the untagged intervals, their total count and the p50/p99/max of them all
added, in µs, one `key value` per line, then every recorded value (the
highest equivalent of its bucket) and its count as `value N`. Tagged
intervals (an open-loop run's `Tag=uncorrected` series) are left out of
those figures, as HdrHistogram's own log processor leaves them, and
counted apart: `tagged N`, `tagged_count N`."""
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

total = HdrHistogram(1, 3_600_000_000, 3)
reader = HistogramLogReader(sys.argv[1], total)
intervals = 0
tagged = 0
tagged_count = 0
while True:
    h = reader.get_next_interval_histogram()
    if h is None:
        break
    if h.get_tag() is not None:
        tagged += 1
        tagged_count += h.get_total_count()
        continue
    intervals += 1
    total.add(h)
print("intervals", intervals)
print("tagged", tagged)
print("tagged_count", tagged_count)
print("count", total.get_total_count())
for p in (50, 99):
    print(f"p{p}", total.get_value_at_percentile(p))
print("max", total.get_max_value())
for item in total.get_recorded_iterator():
    print("value", item.value_iterated_to, item.count_at_value_iterated_to)
