#!/usr/bin/env bash
# Deploys the relay to Azure in two steps: the infrastructure (infra/bicep/main.bicep with a .bicepparam file),
# then the app package (scripts/publish.sh) by one deploy, the zip deployment Flex Consumption supports.
# Usage: scripts/deploy.sh RESOURCE_GROUP [PARAMETERS.bicepparam]   (az login first; the resource group must exist)
set -euo pipefail
cd "$(dirname "$0")/.."
group="${1:?usage: scripts/deploy.sh RESOURCE_GROUP [PARAMETERS.bicepparam]}"
params="${2:-infra/bicep/main.example.bicepparam}"
command -v az >/dev/null || { echo "deploy.sh needs the Azure CLI (az), signed in with az login" >&2; exit 1; }

# 1. Infrastructure. The .bicepparam file names its template (using 'main.bicep').
app=$(az deployment group create --resource-group "$group" --name relay --parameters "$params" \
  --query properties.outputs.appName.value --output tsv)
echo "Infrastructure deployed; app: $app"

# 2. The app package, uploaded to the app's deployment container by the platform.
./scripts/publish.sh out/app out/app.zip
# NOTE: on a first deployment the identity's new role on storage can take minutes to apply; retry a few times.
for attempt in 1 2 3 4 5; do
  if az functionapp deployment source config-zip --resource-group "$group" --name "$app" --src out/app.zip; then
    break
  fi
  [ "$attempt" -lt 5 ] || { echo "the package upload failed 5 times" >&2; exit 1; }
  echo "upload failed (attempt $attempt); retrying in 30 s"
  sleep 30
done

az deployment group show --resource-group "$group" --name relay --query properties.outputs --output json
