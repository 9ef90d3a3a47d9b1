#!/bin/bash
# The build, run as the build container's command: the Heroku buildpack API.
#
#   1. .slugignore patterns are removed from the source.
#   2. The buildpacks are chosen: SLIPWAY_BUILDPACKS (set by the platform), else the
#      BUILDPACK_URL or BUILDPACKS config var, else the app's .buildpacks file, else the first
#      built-in whose bin/detect accepts the app (order: SLIPWAY_DETECT_ORDER).
#   3. Each buildpack in turn: bin/detect BUILD_DIR (its first line names the app),
#      bin/compile BUILD_DIR CACHE_DIR ENV_DIR, then its `export` file is sourced so that
#      the buildpacks after it see what it installed; bin/release BUILD_DIR gives default
#      process types (later buildpacks win for a type both name).
#   4. No buildpack matched but the app has a Dockerfile: the platform builds that instead.
#
# Slipway starts the container before the build is asked for (an app's next push then
# finds one waiting): with SLIPWAY_BUILD_GO=stdin, the runner first waits for the build's
# go line on stdin, "END_MARKER [BUILDPACK ...]" (see SLIPWAY_BUILD_END below, and
# SLIPWAY_BUILDPACKS), or in /workspace/go when the engine broke the attach that carries
# stdin (go-line.sh); without it (tests) those come from the environment.
#
# Slipway puts these into the workspace volume before the go line:
#   /workspace/buildpacks    built-in buildpack directories ("_" names are not buildpacks),
#                            before the container starts
#   /workspace/ca            extra CA certificates (PEM), e.g. a TLS-intercepting proxy's,
#                            before the container starts
#   /workspace/out/slug      the validated source tree (BUILD_DIR; /workspace/src, if
#                            given instead, is moved there)
#   /workspace/env           the app's config vars, one file per variable (ENV_DIR)
#   /cache                   the app's build cache volume (one subdirectory per buildpack)
# and reads these back afterwards (out/ comes with the end marker line when small; see park):
#   /workspace/out/meta      buildpacks ("id<TAB>name" lines), release-N.yml, Procfile,
#                            layers ("NAME DIGEST" of each moved part, bottom first, "NAME
#                            KEY reused" for a declared part the buildpack did not make),
#                            or "dockerfile" when the Dockerfile is to be built
#   /workspace/out/slug      the compiled app (BUILD_DIR), which becomes /app in the image
#   /workspace/layers/NAME   the parts of it that change less often (runtime: .heroku,
#                            .apt, .go; deps: node_modules, vendor, .venv, venv), moved out
#                            of the slug so that an unchanged part is not copied again
# (meta and slug share a directory so that one read gets both, meta first: Slipway reads
# out/ as a tar, which lists a directory in lexical order.)
#
# Declared layers (a Slipway extension; docs/buildpacks.md): the last buildpack gets
# SLIPWAY_KNOWN_LAYERS, a file of lines "NAME KEY [NAME KEY]...", each a chain of the app's
# layer images from this stack's run image up, and SLIPWAY_DECLARE_LAYER, a file it may
# append up to three "NAME KEY PATH" lines to, bottom first: each PATH (a directory of the
# slug) is then its own image layer, known by KEY instead of a digest of its content. When
# the chain up to a declared layer is known, the buildpack may leave its PATH out entirely:
# the app's existing layer is used, and nothing is copied or digested.
set -euo pipefail

# Overridable only so that tests can run the runner outside a container.
WORKSPACE=${SLIPWAY_WORKSPACE:-/workspace}
APP_DIR="$WORKSPACE/out/slug"
META_DIR="$WORKSPACE/out/meta"
ENV_DIR="$WORKSPACE/env"
BUILDPACKS_DIR="$WORKSPACE/buildpacks"
FETCHED_DIR="$WORKSPACE/fetched-buildpacks"
CACHE_ROOT=${SLIPWAY_CACHE:-/cache}
DETECT_ORDER=${SLIPWAY_DETECT_ORDER:-nodejs python go static procfile}

# How often the kernel killed a process of this container for want of memory (cgroup v2
# memory.events, or v1 memory.oom_control); 0 when the cgroup is not visible.
oom_kills() {
  local file
  for file in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do
    if [[ -r $file ]]; then
      awk '$1 == "oom_kill" { print $2; found = 1; exit } END { if (!found) print 0 }' "$file"
      return 0
    fi
  done
  echo 0
}

fail() {
  echo
  # A buildpack whose process the kernel killed only sees "Killed": say why.
  if (($(oom_kills) > 0)); then
    echo " !     The build ran out of memory: $*"
  else
    echo " !     $*"
  fi
  echo
  exit 1
}

# SLIPWAY_BUILD_END: a token from the platform. When the build is over (success or not),
# every other process of the container is killed, so the workspace is final, then the
# token and the exit status are printed as the last line, and the container waits to be
# removed: the platform reads the workspace from it while it still runs (no exit to notice
# and no network to tear down first, no mount to make for each read). Only in a container
# of the platform's (it sets the token): the kill reaches every process this user can see.
# The root filesystem is read-only: everything a build writes goes to the workspace. Made
# before the go line, while a waiting container has nothing else to do.
export HOME="$WORKSPACE/home" TMPDIR="$WORKSPACE/tmp"
mkdir -p "$HOME" "$TMPDIR" "$META_DIR" "$ENV_DIR" "$FETCHED_DIR"

# Extra CAs (which Slipway puts in with the buildpacks) are appended to the stack's bundle
# and announced to every TLS client in use.
if compgen -G "$WORKSPACE/ca/*" >/dev/null; then
  bundle="$WORKSPACE/ca-bundle.crt"
  cat /etc/ssl/certs/ca-certificates.crt "$WORKSPACE"/ca/* >"$bundle"
  export SSL_CERT_FILE="$bundle" CURL_CA_BUNDLE="$bundle" GIT_SSL_CAINFO="$bundle"
  export NODE_EXTRA_CA_CERTS="$bundle" npm_config_cafile="$bundle" PIP_CERT="$bundle"
fi

if [[ ${SLIPWAY_BUILD_GO:-} == stdin ]]; then
  unset SLIPWAY_BUILD_GO
  # shellcheck source=go-line.sh
  source "$BUILDPACKS_DIR/_runner/go-line.sh"
  read_go_line || exit 70
  if [[ -n $SLIPWAY_BUILDPACKS ]]; then export SLIPWAY_BUILDPACKS; else unset SLIPWAY_BUILDPACKS; fi
  # Nothing more comes on stdin: a tool that reads it gets its end, as without a terminal.
  exec </dev/null
fi
END_MARK=${SLIPWAY_BUILD_END:-}
unset SLIPWAY_BUILD_END
if [[ -n $END_MARK ]]; then
  # A successful build's out/ (metadata and slug) rides on the end marker line as base64
  # of a tar when it is small (up to OUT_INLINE_MAX characters): the platform then reads no
  # archive from the container (about 0.02 s). Larger ones it reads as before.
  OUT_INLINE_MAX=$((4 * 1024 * 1024))
  park() {
    local status=$? out=""
    trap - EXIT
    kill -KILL -1 2>/dev/null || true
    if ((status == 0)); then
      out=$(tar -C "$WORKSPACE" --sort=name --format=posix -cf - out 2>/dev/null |
        base64 -w0 | head -c $((OUT_INLINE_MAX + 1))) || out=""
      ((${#out} <= OUT_INLINE_MAX)) || out=""
    fi
    printf '%s %d%s\n' "$END_MARK" "$status" "${out:+ $out}"
    exec sleep infinity
  }
  trap park EXIT
fi

# The source: Slipway puts it where the build happens (a caller that puts src/ has it
# moved there).
if [[ -d "$WORKSPACE/src" ]]; then mv "$WORKSPACE/src" "$APP_DIR"; fi
[[ -d $APP_DIR ]] || fail "No source in the workspace"

# Builtins instead of processes where the warm path would start one (a process costs
# about a millisecond here).
# has_line FILE LINE — whether FILE (if readable) has LINE as one of its lines (grep -qxF).
has_line() {
  local line
  [[ -r $1 ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == "$2" ]] && return 0
  done <"$1"
  return 1
}
# copy_text FROM TO — a text file's content (cp, for files without NUL bytes).
copy_text() {
  local content=""
  IFS= read -r -d '' content <"$1" || true
  printf '%s' "$content" >"$2"
}

# config_var NAME — the app's config var NAME (from ENV_DIR), empty when unset.
config_var() {
  local file="$ENV_DIR/$1"
  if [[ -f $file ]]; then cat "$file"; fi
}

# .slugignore: one pattern per line (# comments); a pattern without "/" matches at any
# depth, one with "/" is relative to the app root. Applied before any buildpack runs.
apply_slugignore() {
  local file="$APP_DIR/.slugignore" pattern removed=0
  [[ -f $file ]] || return 0
  while IFS= read -r pattern || [[ -n $pattern ]]; do
    pattern=${pattern%$'\r'}
    pattern=${pattern#"${pattern%%[![:space:]]*}"}
    pattern=${pattern%"${pattern##*[![:space:]]}"}
    [[ -z $pattern || $pattern == \#* ]] && continue
    [[ $pattern == *..* ]] && continue
    pattern=${pattern%/}
    if [[ $pattern == */* ]]; then
      pattern=${pattern#/}
      removed=$((removed + $(cd "$APP_DIR" && find . -path "./$pattern" -prune -print -exec rm -rf {} + | wc -l)))
    else
      removed=$((removed + $(cd "$APP_DIR" && find . -mindepth 1 -name "$pattern" -prune -print -exec rm -rf {} + | wc -l)))
    fi
  done <"$file"
  echo "-----> Removed $removed entries matching .slugignore"
}

# cache_name ID — sets CACHE_NAME to the buildpack's cache directory name: ID with every
# byte but letters, digits and ._- made "_", then one more "_", cut to 100 bytes. (It was
# `tr -c ... <<<ID | cut -c1-100`, whose newline became the last "_": existing caches keep
# their name. Byte by byte in the C locale, without the processes.)
cache_name() {
  local LC_ALL=C name="$1"$'\n'
  name=${name//[^A-Za-z0-9._-]/_}
  CACHE_NAME=${name:0:100}
}

# resolve_buildpack ENTRY INDEX — sets BP_DIR and BP_ID for a built-in name (also as
# heroku/NAME), a git URL (URL#REF picks a branch or tag), or a directory or git repository
# at a path relative to the app root.
resolve_buildpack() {
  local entry=$1 index=$2 name url ref target
  name=${entry#heroku/}
  name=${name#slipway/}
  [[ $name == static-site ]] && name=static
  if [[ $name =~ ^[a-z0-9][a-z0-9-]*$ && -d "$BUILDPACKS_DIR/$name" ]]; then
    BP_DIR="$BUILDPACKS_DIR/$name" BP_ID=$name
    return 0
  fi
  target="$FETCHED_DIR/$index"
  if [[ $entry == *://* || $entry == git@* ]]; then
    url=${entry%%#*} ref=""
    [[ $entry == *#* ]] && ref=${entry#*#}
    echo "-----> Fetching buildpack $entry"
    if ! git -c advice.detachedHead=false clone --quiet --depth 1 ${ref:+--branch "$ref"} -- "$url" "$target" 2>&1 | sed -u 's/^/       /'; then
      fail "Could not fetch buildpack $entry (is the URL right and reachable from the build network?)"
    fi
    [[ -d $target ]] || fail "Could not fetch buildpack $entry"
    BP_DIR=$target BP_ID=$entry
    return 0
  fi
  [[ $entry != /* && $entry != *..* ]] || fail "Buildpack path must be relative to the app: $entry"
  if [[ -d "$APP_DIR/$entry/bin" ]]; then
    cp -R "$APP_DIR/$entry" "$target"
  elif [[ -f "$APP_DIR/$entry/HEAD" || -d "$APP_DIR/$entry/.git" ]]; then
    git clone --quiet --depth 1 -- "file://$APP_DIR/$entry" "$target" 2>&1 | sed -u 's/^/       /' ||
      fail "Could not clone buildpack repository $entry"
  else
    fail "Unknown buildpack: $entry (not a built-in, a git URL or a directory of the app)"
  fi
  BP_DIR=$target BP_ID=$entry
}

# The explicit list, if any: entries separated by commas, spaces or newlines.
explicit=""
if [[ -n ${SLIPWAY_BUILDPACKS:-} ]]; then
  explicit=$SLIPWAY_BUILDPACKS
elif [[ -n $(config_var BUILDPACKS) ]]; then
  explicit=$(config_var BUILDPACKS)
elif [[ -n $(config_var BUILDPACK_URL) ]]; then
  explicit=$(config_var BUILDPACK_URL)
elif [[ -f "$APP_DIR/.buildpacks" ]]; then
  explicit=$(grep -v '^[[:space:]]*#' "$APP_DIR/.buildpacks" || true)
fi
read -r -d '' -a entries <<<"${explicit//,/ }" || true

apply_slugignore

dirs=() ids=() names=()
if ((${#entries[@]} > 0)); then
  index=0
  for entry in "${entries[@]}"; do
    resolve_buildpack "$entry" "$index"
    index=$((index + 1))
    [[ -f "$BP_DIR/bin/detect" && -f "$BP_DIR/bin/compile" ]] ||
      fail "Buildpack $entry has no bin/detect and bin/compile"
    chmod +x "$BP_DIR"/bin/* 2>/dev/null || true
    if ! display=$("$BP_DIR/bin/detect" "$APP_DIR"); then
      fail "App not compatible with buildpack $entry (its bin/detect said no)"
    fi
    dirs+=("$BP_DIR") ids+=("$BP_ID") names+=("${display%%$'\n'*}")
  done
else
  for name in $DETECT_ORDER; do
    dir="$BUILDPACKS_DIR/$name"
    [[ -x "$dir/bin/detect" ]] || fail "Buildpack $name has no executable bin/detect"
    if display=$("$dir/bin/detect" "$APP_DIR"); then
      dirs+=("$dir") ids+=("$name") names+=("${display%%$'\n'*}")
      break
    fi
  done
  if ((${#dirs[@]} == 0)); then
    if [[ -f "$APP_DIR/Dockerfile" ]]; then
      echo "-----> No buildpack matched; building the app's Dockerfile"
      cp "$APP_DIR/Dockerfile" "$META_DIR/dockerfile"
      if [[ -f "$APP_DIR/Procfile" ]]; then cp "$APP_DIR/Procfile" "$META_DIR/Procfile"; fi
      exit 0
    fi
    fail "No buildpack detected this app (tried: $DETECT_ORDER). Add a package.json, requirements.txt, go.mod, index.html, Procfile or Dockerfile, or name buildpacks in .buildpacks."
  fi
fi

: >"$META_DIR/buildpacks"
KNOWN_LAYERS="$WORKSPACE/known-layers" DECLARED_LAYERS="$WORKSPACE/declared-layers"
[[ -f $KNOWN_LAYERS ]] || : >"$KNOWN_LAYERS"
: >"$DECLARED_LAYERS"
last=$((${#dirs[@]} - 1))
for i in "${!dirs[@]}"; do
  dir=${dirs[$i]} id=${ids[$i]} name=${names[$i]:-${ids[$i]}}
  echo "-----> ${name} app detected"
  # Only the last buildpack may declare a layer: nothing runs after it that could change
  # what the layer's key stands for.
  if ((i == last)); then
    export SLIPWAY_KNOWN_LAYERS=$KNOWN_LAYERS SLIPWAY_DECLARE_LAYER=$DECLARED_LAYERS
  else
    unset SLIPWAY_KNOWN_LAYERS SLIPWAY_DECLARE_LAYER
  fi
  printf '%s\t%s\n' "$id" "$name" >>"$META_DIR/buildpacks"
  # One cache directory per buildpack, named after it (safe characters only).
  cache_name "$id"
  cache_dir="$CACHE_ROOT/$CACHE_NAME"
  [[ -d $cache_dir ]] || mkdir -p "$cache_dir"
  if ! "$dir/bin/compile" "$APP_DIR" "$cache_dir" "$ENV_DIR"; then
    fail "Failed to compile ${name} app"
  fi
  # The slug's size (a message) is measured while the last buildpack's release runs.
  if ((i == last)); then
    du -sh "$APP_DIR" >"$TMPDIR/.slug-size" &
    slug_du=$!
  fi
  if [[ -f "$dir/export" ]]; then
    # Written by the buildpack, not held to this script's strictness.
    set +eu
    # shellcheck source=/dev/null
    source "$dir/export"
    status=$?
    set -eu
    ((status == 0)) || fail "The export file of buildpack $id failed"
  fi
  if [[ -f "$dir/bin/release" ]]; then
    "$dir/bin/release" "$APP_DIR" >"$META_DIR/release-$i.yml" || fail "bin/release of $id failed"
  fi
done

if [[ -f "$APP_DIR/Procfile" ]]; then
  copy_text "$APP_DIR/Procfile" "$META_DIR/Procfile"
fi
wait "$slug_du" || true
slug_size=
read -r slug_size _ <"$TMPDIR/.slug-size" || true
echo "-----> Compiled slug size: ${slug_size:-unknown}"

# layer_digest NAMES... — BLAKE2b-256 (about twice as fast as sha256sum here) of the named
# top-level entries of the slug as a tar with fixed order, owners and times: what decides
# the image layer Slipway makes of them.
# b2sum prints "DIGEST  -": the caller keeps the first word.
layer_digest() {
  tar -C "$APP_DIR" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
    -cf - -- "$@" | b2sum -l 256
}

: >"$META_DIR/layers"
# A declared layer (see the top): moved out of the slug, or reused when it was not made and
# the app has the chain of declared layers up to it (CHAIN, "NAME KEY" pairs from the
# bottom, each known-layers line one such chain).
DECLARED_MAX=3
CHAIN=""
declared_layer() {
  local name=$1 key=$2 path=$3 extra=$4 parent
  [[ $name =~ ^[a-z][a-z0-9-]{0,30}$ && $name != runtime && $name != deps && $name != app ]] ||
    fail "A buildpack declared a layer with a bad name: $name"
  [[ " $CHAIN " != *" $name "* ]] || fail "A buildpack declared the layer $name twice"
  [[ $key =~ ^[0-9a-f]{64}$ ]] || fail "The declared layer $name has a bad key: $key"
  [[ -z $extra && -n $path && $path != /* && $path != *..* && $path =~ ^[A-Za-z0-9._/-]+$ ]] ||
    fail "The declared layer $name has a bad path: $path $extra"
  if [[ -e "$APP_DIR/$path" || -L "$APP_DIR/$path" ]]; then
    [[ -d "$APP_DIR/$path" && ! -L "$APP_DIR/$path" ]] ||
      fail "The declared layer $name is not a directory of the slug: $path"
    mkdir -p "$WORKSPACE/layers/$name/$(dirname "$path")"
    mv -- "$APP_DIR/$path" "$WORKSPACE/layers/$name/$path"
    # Parents it leaves empty (.heroku) go too: they would make a layer of their own.
    parent=$(dirname "$path")
    while [[ $parent != . ]] && rmdir -- "$APP_DIR/$parent" 2>/dev/null; do
      parent=$(dirname "$parent")
    done
    printf '%s %s\n' "$name" "$key" >>"$META_DIR/layers"
    echo "-----> Layer $name: /app/$path (${key:0:12})"
  elif has_line "$KNOWN_LAYERS" "${CHAIN:+$CHAIN }$name $key"; then
    printf '%s %s reused\n' "$name" "$key" >>"$META_DIR/layers"
    echo "-----> Layer $name: /app/$path, reused from the app's last image (${key:0:12})"
  else
    fail "The buildpack declared the layer $name but made no $path, and the app has no such layer"
  fi
  CHAIN="${CHAIN:+$CHAIN }$name $key"
}
declared=0
while read -r d_name d_key d_path d_extra; do
  [[ -n ${d_name:-} ]] || continue
  declared=$((declared + 1))
  ((declared <= DECLARED_MAX)) ||
    fail "A build may declare $DECLARED_MAX layers; the buildpack declared more"
  declared_layer "$d_name" "${d_key:-}" "${d_path:-}" "${d_extra:-}"
done <"$DECLARED_LAYERS"

# The slug's parts by how often they change, each to its own image layer: Slipway reuses
# the app's layer of an earlier build when the digest is the same (and the move is a
# rename, so it costs nothing). Digests run in parallel; both parts are read once.
declare -A layer_names=([runtime]=".heroku .apt .go" [deps]="node_modules vendor .venv venv")
for layer in runtime deps; do
  present=()
  for name in ${layer_names[$layer]}; do
    if [[ -e "$APP_DIR/$name" || -L "$APP_DIR/$name" ]]; then present+=("$name"); fi
  done
  ((${#present[@]} > 0)) || continue
  # Written only when the whole part was read: a digest of part of it would be a lie.
  # (In TMPDIR, not next to the metadata, which Slipway reads whole.)
  (if digest=$(layer_digest "${present[@]}"); then printf '%s' "${digest%% *}" >"$TMPDIR/.digest-$layer"; fi) &
  printf '%s\n' "${present[@]}" >"$TMPDIR/.names-$layer"
done
wait
for layer in runtime deps; do
  [[ -f "$TMPDIR/.names-$layer" ]] || continue
  digest=""
  if [[ -f "$TMPDIR/.digest-$layer" ]]; then IFS= read -r digest <"$TMPDIR/.digest-$layer" || true; fi
  [[ $digest =~ ^[0-9a-f]{64}$ ]] || fail "Could not digest the $layer part of the slug"
  [[ -d "$WORKSPACE/layers/$layer" ]] || mkdir -p "$WORKSPACE/layers/$layer"
  while IFS= read -r name; do mv -- "$APP_DIR/$name" "$WORKSPACE/layers/$layer/$name"; done <"$TMPDIR/.names-$layer"
  printf '%s %s\n' "$layer" "$digest" >>"$META_DIR/layers"
done
