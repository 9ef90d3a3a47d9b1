# shellcheck shell=bash
# Sourced at container start (by /app/.slipway/launch): node, npm and the app's own
# binaries on PATH; production mode unless a config var says otherwise.
export PATH="$HOME/.heroku/node/bin:$HOME/node_modules/.bin:$PATH"
export NODE_ENV="${NODE_ENV:-production}"
