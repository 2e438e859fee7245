#!/usr/bin/env bash
# The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (`pre-commit try-repo`, which
# builds berrys from this repository as `language: rust` does for users) in a scratch project:
# each hook passes on a clean platform and fails on a broken one.
#
#   scripts/check-pre-commit.sh        needs pre-commit on PATH (or PRE_COMMIT=/path/to/it)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pre_commit=${PRE_COMMIT:-pre-commit}
berrys=${BERRYS:-$repo/target/debug/berrys}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PRE_COMMIT_HOME="$work/cache"
# pre-commit installs the hook with `cargo install --path` (a release build, and without
# `--locked`, so with the newest compatible dependencies, as users get it). Here the build is
# unoptimised, in a target directory of its own: the hook's behaviour is what is checked,
# and an optimised build of every dependency would take most of CI's time.
export CARGO_TARGET_DIR="$work/target"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=false

project="$work/project"
mkdir -p "$project/schemas"
cp platform.toml "$project/"
cp schemas/platform.schema.json "$project/schemas/"
cd "$project"
git init -q
git config user.email ci@example.invalid
git config user.name ci
"$berrys" render -q
git add -A
git commit -qm "a platform and its rendered output"

hook() { "$pre_commit" try-repo "$repo" "$1" --all-files > "$work/hook.log" 2>&1; }
expect() {
    local want=$1 id=$2 rc=0
    hook "$id" || rc=$?
    if [[ $want == pass && $rc != 0 ]] || [[ $want == fail && $rc == 0 ]]; then
        cat "$work/hook.log"
        echo "error: hook $id was expected to $want"
        exit 1
    fi
    if [[ $want == pass ]]; then echo "$id: passes as expected"; else echo "$id: fails as expected"; fi
}

expect pass berrys-lint
expect pass berrys-render-check

# Output that no longer matches the platform.
rm rendered/base/grafana/capacity.json
expect fail berrys-render-check
grep -q "missing: rendered/base/grafana/capacity.json" "$work/hook.log"
git checkout -q -- rendered

# A platform with a lint error.
cp "$repo/tests/fixtures/lint/br003-pool-overcommit.fires.toml" platform.toml
expect fail berrys-lint
grep -q "BR003" "$work/hook.log"
echo "pre-commit hooks: all checks passed"
