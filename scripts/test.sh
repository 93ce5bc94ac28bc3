#!/usr/bin/env bash
# Runs every test: installs the pinned Azurite (npm ci), builds, and runs xunit against real Azurite, Kestrel and the official SDKs.
set -uo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error || exit 1
out=$(mktemp)
dotnet test Serverless.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
# One plain closing line, summed over test assemblies.
passed=$(grep -oP 'Passed:\s+\K[0-9]+' "$out" | awk '{s+=$1} END {print s+0}')
failed=$(grep -oP 'Failed:\s+\K[0-9]+' "$out" | awk '{s+=$1} END {print s+0}')
skipped=$(grep -oP 'Skipped:\s+\K[0-9]+' "$out" | awk '{s+=$1} END {print s+0}')
rm -f "$out"
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "${passed:-0}" -eq 0 ] && [ "$status" -eq 0 ]; then echo "no test ran"; exit 1; fi
exit "$status"
