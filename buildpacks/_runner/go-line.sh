# shellcheck shell=bash
# Sourced by build.sh. read_go_line: waits for the build's go line, "END_MARKER
# [BUILDPACK ...]", and sets SLIPWAY_BUILD_END and SLIPWAY_BUILDPACKS from it.
#
# The line comes on stdin, which the platform writes through an attach. An engine may
# break that attach before the line got through (Podman's attach race: "read unixpacket
# ...: connection reset by peer"), and close stdin as the attach goes. The platform then
# puts the same line into the workspace as the file `go` (build-container.ts), so the
# runner also looks there: at once when stdin ended without a whole line, and every second
# while it waits (a broken attach that left stdin open). A waiting build container wakes
# once a second and starts no process (the reads are builtins).
read_go_line() {
  local line="" part status
  while :; do
    if IFS= read -r -t 1 part; then
      line+=$part
      break
    else
      status=$?
    fi
    # A timeout keeps what came of the line so far; the rest follows on stdin.
    line+=$part
    if ((status <= 128)); then
      # Stdin ended: only the file can bring the line now.
      until go_file_line; do sleep 0.05; done
      line=$GO_FILE_LINE
      break
    fi
    if go_file_line; then
      line=$GO_FILE_LINE
      break
    fi
  done
  IFS=' ' read -r SLIPWAY_BUILD_END SLIPWAY_BUILDPACKS <<<"$line"
  [[ -n $SLIPWAY_BUILD_END ]]
}

# go_file_line: true, with GO_FILE_LINE set, once $WORKSPACE/go holds a whole line (the
# platform's archive may still be writing it: a line without its newline is not one yet).
go_file_line() {
  [[ -s "$WORKSPACE/go" ]] && IFS= read -r GO_FILE_LINE <"$WORKSPACE/go"
}
