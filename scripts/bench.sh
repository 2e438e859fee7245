#!/usr/bin/env bash
# Whole-process benchmark: generates synthetic platforms (benches/support/synthetic.rs) and
# times `berrys lint` (base and every environment) and `berrys render` (output on tmpfs) as
# users run them, release build: render over its previous output (the usual case, where
# unchanged files are kept) and into a directory that does not exist yet. Prints a
# Markdown table: best wall time of RUNS runs and peak resident memory of one run of each
# (GNU time), and the 10k/1k ratios when both sizes ran.
#
#   scripts/bench.sh [SIZES...]        default: 100 1000 10000; RUNS=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(100 1000 10000)
runs=${RUNS:-5}
out_root=/dev/shm
[[ -d $out_root && -w $out_root ]] || out_root=${TMPDIR:-/tmp}
work=$(mktemp -d "$out_root/berrys-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

[[ -x /usr/bin/time ]] || { echo "GNU time (/usr/bin/time) is required: apt-get install time"; exit 1; }
cargo build --release --quiet --bin berrys --example generate-platform
berrys=target/release/berrys

# best_of CMD...: the fastest of $runs wall times, in seconds; with FRESH set, that
# directory is removed before each run (not timed).
best_of() {
    local best=""
    for _ in $(seq "$runs"); do
        [[ -z ${FRESH:-} ]] || rm -rf "$FRESH"
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        t1=$(date +%s%N)
        local t=$(( (t1 - t0) / 1000 ))
        [[ -z $best || $t -lt $best ]] && best=$t
    done
    awk -v us="$best" 'BEGIN { printf "%.3f", us / 1e6 }'
}

# peak_kib CMD...: maximum resident set size of one run, in KiB.
peak_kib() {
    /usr/bin/time -f "%M" -o "$work/time.txt" "$@" >/dev/null 2>&1
    cat "$work/time.txt"
}

declare -A lint_s render_s fresh_s lint_m render_m fresh_m
for n in "${sizes[@]}"; do
    file="$work/platform-$n.toml"
    target/release/examples/generate-platform "$n" 1 > "$file"
    "$berrys" lint -f "$file" >/dev/null 2>&1 || { echo "the $n-service platform does not lint clean"; exit 1; }
    lint_s[$n]=$(best_of "$berrys" lint -f "$file")
    lint_m[$n]=$(peak_kib "$berrys" lint -f "$file")
    fresh_s[$n]=$(FRESH="$work/out-$n" best_of "$berrys" render -f "$file" --out "$work/out-$n")
    rm -rf "$work/out-$n"
    fresh_m[$n]=$(peak_kib "$berrys" render -f "$file" --out "$work/out-$n")
    render_s[$n]=$(best_of "$berrys" render -f "$file" --out "$work/out-$n")
    render_m[$n]=$(peak_kib "$berrys" render -f "$file" --out "$work/out-$n")
    files[$n]=$(wc -l < "$work/out-$n/.berrys-manifest")
done

echo "| services | lint (all environments) | lint peak memory | render | render into a new directory | render peak memory (new directory) | files written |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
    printf '| %s | %s s | %d MiB | %s s | %s s | %d MiB (%d MiB) | %s |\n' "$n" "${lint_s[$n]}" \
        $(( lint_m[$n] / 1024 )) "${render_s[$n]}" "${fresh_s[$n]}" $(( render_m[$n] / 1024 )) \
        $(( fresh_m[$n] / 1024 )) "$(( files[$n] - 2 ))"
done
if [[ -n ${lint_s[10000]:-} && -n ${lint_s[1000]:-} ]]; then
    awk -v l1="${lint_s[1000]}" -v l10="${lint_s[10000]}" -v r1="${render_s[1000]}" -v r10="${render_s[10000]}" \
        -v f1="${fresh_s[1000]}" -v f10="${fresh_s[10000]}" \
        -v ml1="${lint_m[1000]}" -v ml10="${lint_m[10000]}" -v mr1="${render_m[1000]}" -v mr10="${render_m[10000]}" \
        'BEGIN { printf "\n10k/1k ratios: lint time %.1f, render time %.1f (into a new directory %.1f), lint memory %.1f, render memory %.1f\n", l10/l1, r10/r1, f10/f1, ml10/ml1, mr10/mr1 }'
fi
