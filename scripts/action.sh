#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml). Inputs arrive in environment variables, never
# in the script's text, so no input can inject shell code.
#
#   action.sh lint           BERRYS_FILE, BERRYS_ENV, BERRYS_FAIL_ON; writes sarif-file and
#                            exit-code to $GITHUB_OUTPUT; annotations on standard output
#   action.sh verdict        BERRYS_EXIT: fails when the lint did
#   action.sh render-check   BERRYS_FILE, BERRYS_RENDER_CHECK (environments, "base" included)
set -uo pipefail

file=${BERRYS_FILE:-platform.toml}
case ${1:-} in
lint)
    args=(-f "$file")
    [[ -z ${BERRYS_ENV:-} ]] || args+=(--env "$BERRYS_ENV")
    [[ -z ${BERRYS_FAIL_ON:-} ]] || args+=(--fail-on "$BERRYS_FAIL_ON")
    sarif="${RUNNER_TEMP:-/tmp}/berrys.sarif"
    rc=0
    # Annotations on the pull request's diff, then the same findings as SARIF.
    berrys lint "${args[@]}" --format github || rc=$?
    rm -f "$sarif"
    berrys -q lint "${args[@]}" --format sarif -o "$sarif" >/dev/null 2>&1
    if [[ -s $sarif ]]; then
        echo "sarif-file=$sarif" >> "${GITHUB_OUTPUT:-/dev/null}"
    fi
    echo "exit-code=$rc" >> "${GITHUB_OUTPUT:-/dev/null}"
    # The verdict step fails the job, after the upload: findings reach code scanning too.
    exit 0
    ;;
verdict)
    case ${BERRYS_EXIT:-2} in
    0) echo "berrys lint: clean" ;;
    1) echo "::error::berrys lint found problems at or above fail-on (see the annotations)"; exit 1 ;;
    *) echo "::error::berrys lint could not check the platform (exit ${BERRYS_EXIT:-unknown}); its errors are in the lint step"; exit 2 ;;
    esac
    ;;
render-check)
    rc=0
    for env in ${BERRYS_RENDER_CHECK:-base}; do
        if [[ $env == base ]]; then
            berrys render -f "$file" --check || rc=1
        else
            berrys render -f "$file" --check --env "$env" || rc=1
        fi
    done
    exit "$rc"
    ;;
*)
    echo "usage: action.sh lint|verdict|render-check" >&2
    exit 2
    ;;
esac
