#!/usr/bin/env bash
# Runs every test: installs the pinned npm packages (Azurite, the admin UI's bundler) and chromium if missing, builds, and runs xunit against real Azurite, Kestrel and the official SDKs.
# Tests run in a random order drawn from a seed printed at the end; XUNIT_SEED=<seed> replays that order.
set -uo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error || exit 1
# The admin UI's browser tests drive Debian's chromium (tests/Serverless.Tests/Ui); install it when missing and root.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium: the admin UI tests will fail"
  else
    echo "chromium is missing and this is not root: install it (apt-get install chromium), or the admin UI tests will fail"
  fi
fi
# NOTE: xunit's own default seed is the same for every run of one build: draw a fresh one unless replaying.
XUNIT_SEED=${XUNIT_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2147483647 ))}
out=$(mktemp)
dotnet test Serverless.sln -c Release --logger "console;verbosity=normal" "$@" -- xUnit.Seed="$XUNIT_SEED" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
# One plain closing line, summed over test assemblies.
passed=$(grep -oP 'Passed:\s+\K[0-9]+' "$out" | awk '{s+=$1} END {print s+0}')
failed=$(grep -oP 'Failed:\s+\K[0-9]+' "$out" | awk '{s+=$1} END {print s+0}')
skipped=$(grep -oP 'Skipped:\s+\K[0-9]+' "$out" | awk '{s+=$1} END {print s+0}')
seed=$(grep -oP 'Starting:.*seed = \K[0-9]+' "$out" | head -1)
rm -f "$out"
[ -n "$seed" ] && echo "test order seed: $seed (replay: XUNIT_SEED=$seed ./scripts/test.sh)"
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "${passed:-0}" -eq 0 ] && [ "$status" -eq 0 ]; then echo "no test ran"; exit 1; fi
exit "$status"
