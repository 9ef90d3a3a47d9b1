# shellcheck shell=bash
# Output in the style users know from Heroku: topics with an arrow, details indented.

# topic "Installing node 24.x"  ->  "-----> Installing node 24.x"
topic() {
  echo "-----> $*"
}

# info "Downloading"  ->  "       Downloading"
info() {
  echo "       $*"
}

# Indents every line of a command's output, so tool output nests under its topic.
indent() {
  sed -u 's/^/       /'
}

# warn "message" -> " !     Warning: message" (the build goes on; Slipway does not take it
# for the reason of a failure)
warn() {
  echo " !     Warning: $*"
}

# fail "message" — prints the reason and stops the build.
fail() {
  echo
  echo " !     $*"
  echo
  exit 1
}
