#!/usr/bin/env bash
# berrys against the alternative a team would write instead, on the same machine:
# `scripts/compare/jinja2_render.py` (Python + Jinja2) writes every service's Kubernetes
# objects, one file each; berrys renders those and everything else (rules, promtool tests,
# dashboards), after linting every environment. Also timed: copying the Python output's
# files (`cp -r`), the floor of writing that many files here. All into new directories on
# tmpfs, interleaved, best of RUNS (default 3). Prints a Markdown table and the ratios.
#
#   scripts/compare/run.sh [SIZES...]      default: 1000 10000; needs python3 with jinja2
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 10000)
runs=${RUNS:-3}
python3 -c 'import jinja2, tomllib' 2>/dev/null || { echo "needs Python 3.11+ with Jinja2: pip install jinja2"; exit 1; }
out_root=/dev/shm
[[ -d $out_root && -w $out_root ]] || out_root=${TMPDIR:-/tmp}
work=$(mktemp -d "$out_root/berrys-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin berrys --example generate-platform
berrys=target/release/berrys

# seconds CMD...: wall time of one run, in microseconds.
micros() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
}

min() { [[ -z $1 || $2 -lt $1 ]] && echo "$2" || echo "$1"; }
secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }

echo "| services | berrys render | Python + Jinja2 | ratio | copying its files (cp -r) | files copied |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
    file="$work/platform-$n.toml"
    target/release/examples/generate-platform "$n" 1 > "$file"
    best_b="" best_p="" best_c=""
    for _ in $(seq "$runs"); do
        rm -rf "$work/b" "$work/p" "$work/c"
        best_p=$(min "$best_p" "$(micros python3 scripts/compare/jinja2_render.py "$file" "$work/p")")
        best_b=$(min "$best_b" "$(micros "$berrys" render -f "$file" --out "$work/b")")
        best_c=$(min "$best_c" "$(micros cp -r "$work/p" "$work/c")")
    done
    copied=$(find "$work/p" -type f | wc -l)
    printf '| %s | %s s | %s s | %.1f | %s s | %s |\n' "$n" "$(secs "$best_b")" "$(secs "$best_p")" \
        "$(awk -v p="$best_p" -v b="$best_b" 'BEGIN { print p / b }')" "$(secs "$best_c")" "$copied"
    rm -rf "$work/b" "$work/p" "$work/c"
done
