#!/bin/bash
# Runs inside the chroot after the RUN packages are installed (so both images have it).
set -euo pipefail

# The non-root user apps run as: uid/gid 1000, home /app (where the slug lands).
groupadd --gid 1000 app
useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home --shell /bin/bash app
install -d -o 1000 -g 1000 -m 0755 /app

# Nothing in a container runs services from init scripts or needs setuid binaries: with
# no-new-privileges they would not work anyway, so remove the bits.
find / -xdev -perm /6000 -type f -exec chmod ug-s {} +
