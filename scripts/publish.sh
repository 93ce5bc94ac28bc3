#!/usr/bin/env bash
# Produces the deployable Functions app in out/app (or $1): host.json, one folder per function with its
# function.json, and the handler as a self-contained linux-x64 binary named in host.json.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-out/app}"
rm -rf "$dest"
dotnet publish functions/Handler/Handler.csproj -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true -p:DebugType=none -o "$dest" --nologo
echo "Published to $dest"
