#!/usr/bin/env bash
# Writes src/plan/builtin_local_cells.json, the built-in local profile's measured part, from
# a profile that `reelscale profile` measured: its CPU cells and its job-wide figures (a
# running process's start-up, local reads and writes, pre-roll, joins, clean-up). The
# other cells of the built-in profile (the GPUs') stay as they are.
#   scripts/builtin-local-cells.sh PROFILE_DIR/profile.json "the machine and the command, in words"
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 PROFILE.json 'the machine and the command, in words'" >&2; exit 2; }
python3 - "$1" src/plan/builtin_local_cells.json "$2" <<'PY'
import json, sys
measured = json.load(open(sys.argv[1]))
cells = {endpoint: {"CPU": hws["CPU"]} for endpoint, hws in measured["endpoints"].items() if "CPU" in hws}
if not cells:
    sys.exit(f"{sys.argv[1]}: no CPU cells")
out = {"name": "reelscale-local", "source": sys.argv[3], "date": measured.get("date", ""),
       "measured": True, "endpoints": cells}
# The job-wide figures of a running process on local disk, measured in the same run.
for key in ("orchestrator_start_s", "request_latency_s", "download_mb_per_s", "upload_mb_per_s", "whole_file_download",
            "preroll_s", "join", "cleanup_s", "transfer_source"):
    if key in measured:
        out[key] = measured[key]
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"wrote {sys.argv[2]}: {', '.join(sorted(cells))}")
PY
