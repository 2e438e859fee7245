#!/usr/bin/env bash
# The AFL++ fuzz target of berrys (docs/reliability.md, "Fuzzing").
#   fuzz/run.sh fuzz [SECONDS]  seeds from the fixtures, build, fuzz on every core
#   fuzz/run.sh cmin            minimise the queue into fuzz/corpus (committed; cargo test replays it)
#   fuzz/run.sh stats           executions, crashes and hangs so far
# Needs AFL++ (Debian `afl++`) and `cargo install cargo-afl`.
set -euo pipefail
cd "$(dirname "$0")"
target=target/release/compile-lint-render
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1

seeds() {
    rm -rf seeds && mkdir seeds
    for f in ../platform.toml ../tests/fixtures/*/*.toml; do
        cp "$f" "seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
}

case "${1:-}" in
fuzz)
    seeds
    cargo afl build --release
    seconds=${2:-3600}
    secondaries=$(($(nproc) - 1))
    for i in $(seq 1 "$secondaries"); do
        cargo afl fuzz -i seeds -o out -x platform.dict -t 2000 -V "$seconds" -S "s$i" "$target" \
            >"out-s$i.log" 2>&1 &
    done
    cargo afl fuzz -i seeds -o out -x platform.dict -t 2000 -V "$seconds" -M main "$target" >out-main.log 2>&1
    wait
    "$0" stats
    ;;
cmin)
    rm -rf out/cmin out/queues && mkdir out/queues
    for q in out/*/queue; do
        for f in "$q"/id:*; do cp "$f" "out/queues/$(basename "$(dirname "$q")")-$(basename "$f" | cut -d, -f1 | tr : -)"; done
    done
    # The bash cmin: the Python one of this AFL++ release stalled on a queue this size.
    "$(ls -d ~/.local/share/afl.rs/rustc-*/afl.rs-*/afl/bin | tail -1)/afl-cmin.bash" -i out/queues -o out/cmin -t 2000 -- "$target" >out/cmin.log 2>&1
    # Content-named, and without the fixtures themselves (the replay reads those directly).
    declare -A fixture
    for f in ../platform.toml ../tests/fixtures/*/*.toml; do fixture[$(sha256sum <"$f" | cut -c1-16)]=1; done
    rm -rf corpus && mkdir corpus
    for f in out/cmin/*; do
        h=$(sha256sum <"$f" | cut -c1-16)
        # The replay takes inputs up to 64 KiB (tests/fuzz_corpus.rs).
        [[ -n ${fixture[$h]:-} || $(stat -c %s "$f") -gt 65536 ]] || cp "$f" "corpus/$h"
    done
    echo "corpus: $(ls corpus | wc -l) inputs, $(du -sh corpus | cut -f1)"
    ;;
stats)
    for s in out/*/fuzzer_stats; do
        printf '%s: ' "$(basename "$(dirname "$s")")"
        awk -F' *: ' '/^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|stability)/ { printf "%s=%s ", $1, $2 } END { print "" }' "$s"
    done
    ;;
*)
    sed -n 2,6p "$0"
    exit 2
    ;;
esac
