#!/usr/bin/env bash
# Dispatch one publish workflow for a ref and wait for it: release.yml's fan-out step.
# Usage: tooling/dispatch_and_wait.sh publish-<package>.yml <ref>   (needs GH_TOKEN with actions:write)
set -euo pipefail
workflow="$1"
ref="$2"
since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
gh workflow run "$workflow" --ref "$ref" -f ref="$ref"
run_id=""
for _ in $(seq 1 30); do
    sleep 5
    run_id="$(gh run list --workflow "$workflow" --event workflow_dispatch --limit 5 \
        --json databaseId,createdAt --jq "[.[] | select(.createdAt >= \"$since\")][0].databaseId // empty")"
    [ -n "$run_id" ] && break
done
if [ -z "$run_id" ]; then
    echo "::error::no run of $workflow appeared within 150 s" >&2
    exit 1
fi
echo "waiting for $workflow run $run_id"
gh run watch "$run_id" --exit-status --interval 15
