#!/usr/bin/env bash
# Produces the deployable Functions app in out/app (or $1): host.json, one folder per function with its
# function.json, and the handler as one native linux-x64 executable (Native AOT: Handler.csproj) named in host.json.
# Then zips it into
# out/app.zip (or $2), the package scripts/deploy.sh uploads, keeping each file's unix mode (the handler must stay
# executable: the platform runs it as it is unpacked).
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-out/app}"
package="${2:-$dest.zip}"
rm -rf "$dest" "$package"
dotnet publish functions/Handler/Handler.csproj -c Release -r linux-x64 --self-contained true -p:DebugType=none -o "$dest" --nologo
echo "Published to $dest"

# Python's zipfile, not zip(1): it is on every machine this repo targets, and the mode is written explicitly.
python3 - "$dest" "$package" <<'PY'
import os, shutil, stat, sys, zipfile
root, package = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            entry = zipfile.ZipInfo.from_file(path, os.path.relpath(path, root))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # unix, so readers honour the mode in the high 16 bits
            entry.external_attr = (stat.S_IFREG | stat.S_IMODE(os.stat(path).st_mode)) << 16
            with open(path, "rb") as source, archive.open(entry, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
PY
echo "Packaged to $package"
