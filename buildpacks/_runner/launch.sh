#!/bin/bash
# /app/.slipway/launch TYPE        runs the command of process type TYPE
# /app/.slipway/launch -c COMMAND  runs COMMAND (one-off processes)
# The image's entrypoint: loads .profile.d (buildpacks put PATH and defaults there), then
# replaces itself with the process so signals reach the app directly.
set -euo pipefail

cd /app
export HOME=/app
# Profile scripts are the buildpacks' (and the app's) own: do not hold them to set -u.
set +u
for profile in /app/.profile.d/*.sh; do
  # shellcheck source=/dev/null
  [[ -f $profile ]] && source "$profile"
done
set -u

if [[ ${1:-} == -c ]]; then
  command=${2:?usage: launch -c COMMAND}
else
  type=${1:-web}
  [[ $type =~ ^[A-Za-z0-9_-]+$ ]] || { echo "launch: invalid process type: $type" >&2; exit 64; }
  file="/app/.slipway/processes/$type"
  [[ -f $file ]] || { echo "launch: no process type \"$type\" in this release" >&2; exit 64; }
  # Read with builtins ($(<file) would fork); trailing newlines go, as they would there.
  IFS= read -r -d '' command <"$file" || true
  while [[ $command == *$'\n' ]]; do command=${command%$'\n'}; done
fi
# A plain command, words of characters no shell treats specially ("node server.js"),
# starts directly; anything else (variables, quotes, operators, NAME=value) goes through
# bash as on Heroku. The same process either way: a bash start less at every boot.
if [[ $command =~ ^[A-Za-z0-9_./:@%+,-]+([[:blank:]]+[A-Za-z0-9_./:@%+,-]+)*$ ]]; then
  read -r -a words <<<"$command"
  exec "${words[@]}"
fi
exec bash -c "$command"
