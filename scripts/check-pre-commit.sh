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
# The hook's own cargo build reuses this checkout's compiled dependencies.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}

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
    echo "$id: ${want}es as expected"
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
