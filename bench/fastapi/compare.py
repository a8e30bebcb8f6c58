"""Compares speedup serve's answers with the original FastAPI server's, byte for byte.

Usage: python3 bench/fastapi/compare.py http://127.0.0.1:8001 http://127.0.0.1:8000
(FastAPI first: `fastapi run bench/fastapi/server.py --host 127.0.0.1 --port 8001`;
speedup: `speedup serve --port 8000`, on 127.0.0.1 by default, and without `--no-mistakes`,
which turns the compared `/async/fibo*` paths into 404s). Prints one line per path
that differs in status, content-type or body, and exits 1 if any does. Paths where
speedup deviates on purpose (bounds FastAPI lacks) are listed in README.md, not here.
"""
import sys
import urllib.error
import urllib.parse
import urllib.request

SEGMENTS = [
    "0", "1", "2", "10", "20", "30", "30.0", "30.00", " 30", "30 ", "3_0", "+30", "030",
    "-0", "0_30", "30.5", "30.", ".0", "3__0", "_30", "30_", "0x1e", "1e1", "abc",
    "nan", "inf", "+-3", "30.0_0", "\u00e9", "1" * 4301, "\uff13\uff10",
]
PREFIXES = ["/baseline/fibo/", "/async/fibo/", "/pool/fibo/",
            "/baseline/fibo_sleep/", "/async/fibo_sleep/"]


def fetch(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, r.headers.get("content-type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type"), e.read()


def main():
    fastapi, speedup = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    differ = 0
    checked = 0
    for prefix in PREFIXES:
        for segment in SEGMENTS:
            if "fibo_sleep" in prefix and segment.strip().lstrip("+").split(".")[0] in ("30", "3_0", "030", "0_30"):
                segment = "20"  # fibo(30)/1e6 would sleep 0.8 s per request
            path = prefix + urllib.parse.quote(segment, safe="")
            a, b = fetch(fastapi, path), fetch(speedup, path)
            checked += 1
            if a != b:
                differ += 1
                print(f"{path[:60]}: FastAPI {a[0]} {a[1]} {a[2][:120]!r}\n"
                      f"{' ' * min(len(path), 60)}  speedup {b[0]} {b[1]} {b[2][:120]!r}")
    print(f"{checked} paths compared, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
