#!/usr/bin/env bash
# Runs the relay in local mode on http://localhost:7071 (override with --urls or ASPNETCORE_URLS).
# Storage: an in-memory Azurite from the repo's pinned npm package on random ports, unless AzureWebJobsStorage is set.
# Needs only the .NET 10 SDK and Node.js; everything else is fetched by this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned npm packages: Azurite, and what the build bundles the admin UI with.
[ -d node_modules/azurite ] && [ -d node_modules/esbuild ] && [ -d node_modules/preact ] || npm ci --no-audit --no-fund --loglevel=error

if [ -z "${AzureWebJobsStorage:-}" ]; then
  log=$(mktemp)
  node node_modules/azurite/dist/src/azurite.js --inMemoryPersistence --skipApiVersionCheck --loose --disableProductStyleUrl \
    --blobHost 127.0.0.1 --blobPort 0 --queueHost 127.0.0.1 --queuePort 0 --tableHost 127.0.0.1 --tablePort 0 >"$log" 2>&1 &
  azurite=$!
  trap 'kill "$azurite" 2>/dev/null || true; rm -f "$log"' EXIT
  port() { grep -oP "Azurite $1 service is successfully listening at http://127.0.0.1:\K[0-9]+" "$log" || true; }
  for _ in $(seq 1 300); do
    blob=$(port Blob); queue=$(port Queue); table=$(port Table)
    [ -n "$blob" ] && [ -n "$queue" ] && [ -n "$table" ] && break
    kill -0 "$azurite" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
  done
  [ -n "${table:-}" ] || { echo "Azurite did not start:"; cat "$log"; exit 1; }
  export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
  echo "Azurite (in memory): tables on port $table, queues on $queue, blobs on $blob"
  # Nothing outlives this Azurite, so a generated encryption key is fine (see RELAY_EPHEMERAL_STORAGE in README).
  export RELAY_EPHEMERAL_STORAGE=true
fi

# The .NET runtime's settings the deployed app sets as app settings.
set -a; . functions/Handler/runtime.env; set +a
export RELAY_ADMIN_KEY="${RELAY_ADMIN_KEY:-local-admin-key}"
echo "Admin key: from RELAY_ADMIN_KEY (default: local-admin-key)"
dotnet run --project functions/Handler/Handler.csproj -c Release -- "$@"
