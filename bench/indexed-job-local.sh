#!/usr/bin/env bash
# docs/bench-indexed-job.yaml, run as written by local processes instead of
# pods: its container's command and args (whatever they are now), once per
# completion index, all with one --start-at a few seconds ahead, then
# `speedup merge` of their interval logs into OUTDIR/merged.json.
#
# Usage: bench/indexed-job-local.sh [--completions N] URL OUTDIR
#
# What changes from a pod to a local process, and nothing else:
# - the target: the one http(s) URL in the command becomes URL;
# - the shared volume: each volumeMount's mountPath (/results) becomes OUTDIR
#   (new or empty: its logs are all merged);
# - JOB_COMPLETION_INDEX is 0..N-1 (N: --completions, default the Job's);
# - START_AT (the Job's one start, which envsubst fills in for kubectl) is
#   now + 3 s, unless set in this script's environment;
# - a listen address 0.0.0.0:PORT of a declared containerPort becomes
#   127.0.0.1:0 (pods have an address each; local copies share one);
# - the container's env values are used as written, unless this script's
#   environment sets the same name (e.g. RATE=200 DURATION=3s WARMUP=1s
#   LINGER=0s bench/indexed-job-local.sh ...).
# `speedup` is $SPEEDUP if set, else target/release/speedup (built if
# missing). Needs Python 3 with PyYAML (installed with pip if missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST=${MANIFEST:-$ROOT/docs/bench-indexed-job.yaml}
COMPLETIONS=
while [ $# -gt 0 ]; do
    case $1 in
        --completions) COMPLETIONS=${2:?--completions needs a number}; shift 2 ;;
        --completions=*) COMPLETIONS=${1#*=}; shift ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ $# -ne 2 ]; then
    echo "usage: $0 [--completions N] URL OUTDIR" >&2
    exit 2
fi
URL=$1
OUTDIR=$2
if [ -e "$OUTDIR" ] && [ -n "$(ls -A "$OUTDIR")" ]; then
    echo "error: $OUTDIR is not empty: its logs would be merged with these; give a new or empty folder" >&2
    exit 2
fi
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "installing PyYAML (pip install pyyaml)" >&2
    pip install --quiet pyyaml 2>/dev/null || pip install --quiet --break-system-packages pyyaml
fi
if [ -z "${SPEEDUP:-}" ]; then
    SPEEDUP=$ROOT/target/release/speedup
    [ -x "$SPEEDUP" ] || (cd "$ROOT" && cargo build --release --locked -q -p speedup)
fi
# The manifest's command runs `speedup` from PATH, as in the image.
PATH=$(cd "$(dirname "$SPEEDUP")" && pwd):$PATH
export PATH

exec python3 - "$MANIFEST" "$URL" "$OUTDIR" "$COMPLETIONS" <<'PY'
import os, re, subprocess, sys, time
import yaml

manifest, url, outdir, completions = sys.argv[1:5]
job = next(d for d in yaml.safe_load_all(open(manifest)) if d and d.get("kind") == "Job")
pod = job["spec"]["template"]["spec"]
(container,) = pod["containers"]
n = int(completions or job["spec"].get("completions") or 1)

# Kubernetes: `command` replaces the image's ENTRYPOINT (speedup), `args` its CMD.
argv = list(container.get("command") or ["speedup"]) + list(container.get("args") or [])
urls = sorted({u for a in argv for u in re.findall(r"https?://[^\s\"']+", a)})
if len(urls) != 1:
    sys.exit(f"error: {manifest}: expected one target URL in the command, found {urls}")
mounts = [m["mountPath"].rstrip("/") for m in container.get("volumeMounts", [])]
ports = [p["containerPort"] for p in container.get("ports", [])]

def local(text):
    text = text.replace(urls[0], url)
    for m in mounts:
        text = re.sub(re.escape(m) + r"(?=/|\s|$|\")", outdir, text)
    for p in ports:
        text = text.replace(f"0.0.0.0:{p}", "127.0.0.1:0")
    return text

argv = [local(a) for a in argv]
env = {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}
env = {k: os.environ.get(k, v) for k, v in env.items()}
env["START_AT"] = os.environ.get("START_AT") or f"{time.time() + 3:.3f}"

def expand(a, e):
    # Kubernetes expands $(VAR) in command and args from the container's env.
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: e.get(m.group(1), m.group(0)), a)

print(f"{n} copies of {manifest}'s command, --start-at {env['START_AT']}, "
      f"target {url}, volume {outdir}", flush=True)
procs = []
for i in range(n):
    e = dict(os.environ, **env, JOB_COMPLETION_INDEX=str(i))
    out = open(os.path.join(outdir, f"pod-{i}.out"), "w")
    procs.append((i, subprocess.Popen([expand(a, e) for a in argv], env=e, stdout=out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), out))
failed = []
for i, p, out in procs:
    if p.wait() != 0:
        failed.append(i)
    out.close()
for i in failed:
    print(f"== copy {i} failed (exit {procs[i][1].returncode}): {outdir}/pod-{i}.out", file=sys.stderr)
    sys.stderr.write(open(os.path.join(outdir, f"pod-{i}.out")).read())
if failed:
    sys.exit(1)
logs = sorted(os.path.join(d, f) for d, _, fs in os.walk(outdir) for f in fs if f.endswith(".hlog"))
if not logs:
    sys.exit(f"error: the copies wrote no .hlog under {outdir}: does the command still pass --hdr-log under {mounts}?")
merged = os.path.join(outdir, "merged.json")
sys.exit(subprocess.call(["speedup", "merge", "--json", merged] + logs))
PY
