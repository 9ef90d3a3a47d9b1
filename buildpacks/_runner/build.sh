#!/usr/bin/env bash
# The build, run as the build container's command. Heroku buildpack API: the first buildpack
# whose bin/detect accepts the source compiles it; bin/release supplies default process types.
#
# Slipway puts these into the workspace volume before the container starts:
#   /workspace/src           the validated source tree
#   /workspace/buildpacks    buildpack directories (names starting with "_" are not buildpacks)
#   /workspace/ca            extra CA certificates (PEM), e.g. a TLS-intercepting proxy's
#   /cache                   the app's build cache volume (one subdirectory per buildpack)
# and reads these back afterwards:
#   /workspace/slug          the compiled app, which becomes /app in the image
#   /workspace/meta          buildpack (id and name), release.yml, Procfile (when present)
#
# Environment: STACK, SLIPWAY_BUILDPACKS (space-separated order; default: all, by name),
# SLIPWAY_NPM_REGISTRY (passed through to buildpacks).
set -euo pipefail

WORKSPACE=/workspace
APP_DIR="$WORKSPACE/slug"
META_DIR="$WORKSPACE/meta"
ENV_DIR="$WORKSPACE/env"
BUILDPACKS_DIR="$WORKSPACE/buildpacks"
CACHE_ROOT=/cache

fail() {
  echo
  echo " !     $*"
  echo
  exit 1
}

# The root filesystem is read-only: everything a build writes goes to the workspace.
export HOME="$WORKSPACE/home" TMPDIR="$WORKSPACE/tmp"
mkdir -p "$HOME" "$TMPDIR" "$META_DIR" "$ENV_DIR"

# Extra CAs are appended to the stack's bundle and announced to every TLS client in use.
if compgen -G "$WORKSPACE/ca/*" >/dev/null; then
  bundle="$WORKSPACE/ca-bundle.crt"
  cat /etc/ssl/certs/ca-certificates.crt "$WORKSPACE"/ca/* >"$bundle"
  export SSL_CERT_FILE="$bundle" CURL_CA_BUNDLE="$bundle" GIT_SSL_CAINFO="$bundle"
  export NODE_EXTRA_CA_CERTS="$bundle" npm_config_cafile="$bundle"
fi

[[ -d "$WORKSPACE/src" ]] || fail "No source in the workspace"
mv "$WORKSPACE/src" "$APP_DIR"

if [[ -n ${SLIPWAY_BUILDPACKS:-} ]]; then
  read -r -a order <<<"$SLIPWAY_BUILDPACKS"
else
  order=()
  for dir in "$BUILDPACKS_DIR"/*/; do
    name=${dir%/}
    name=${name##*/}
    [[ $name == _* ]] || order+=("$name")
  done
fi

selected="" display=""
for name in "${order[@]}"; do
  [[ -x "$BUILDPACKS_DIR/$name/bin/detect" ]] || fail "Buildpack $name has no executable bin/detect"
  if display=$("$BUILDPACKS_DIR/$name/bin/detect" "$APP_DIR"); then
    selected=$name
    break
  fi
done
[[ -n $selected ]] || fail "No buildpack detected this app (tried: ${order[*]}). A Node.js app needs a package.json at its root."

display=${display%%$'\n'*}
echo "-----> ${display:-$selected} app detected"
printf '%s\n%s\n' "$selected" "${display:-$selected}" >"$META_DIR/buildpack"

buildpack="$BUILDPACKS_DIR/$selected"
mkdir -p "$CACHE_ROOT/$selected"
if ! "$buildpack/bin/compile" "$APP_DIR" "$CACHE_ROOT/$selected" "$ENV_DIR"; then
  fail "Failed to compile ${display:-$selected} app"
fi

if [[ -x "$buildpack/bin/release" ]]; then
  "$buildpack/bin/release" "$APP_DIR" >"$META_DIR/release.yml" || fail "bin/release of $selected failed"
fi
if [[ -f "$APP_DIR/Procfile" ]]; then
  cp "$APP_DIR/Procfile" "$META_DIR/Procfile"
fi
echo "-----> Compiled slug size: $(du -sh "$APP_DIR" | cut -f1)"
