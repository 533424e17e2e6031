#!/bin/sh
# Same contract as the docker image's entrypoint: `docker run IMAGE version` runs `docker version`,
# `docker run IMAGE -H …` passes flags to docker, anything else runs as given.
set -e
if [ "${1#-}" != "$1" ]; then
	set -- docker "$@"
elif [ -n "$1" ] && [ ! -x "$(command -v "$1" 2>/dev/null)" ] && docker help "$1" >/dev/null 2>&1; then
	set -- docker "$@"
fi
exec "$@"
