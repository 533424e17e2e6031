#!/bin/bash
# Same contract as the gitlab-runner image's /entrypoint: trust a custom CA certificate when one
# is mounted, then run gitlab-runner with the given arguments.
set -e
DATA_DIR="/etc/gitlab-runner"
CA_CERTIFICATES_PATH=${CA_CERTIFICATES_PATH:-$DATA_DIR/certs/ca.crt}
LOCAL_CA_PATH="/usr/local/share/ca-certificates/ca.crt"
if [ -f "$CA_CERTIFICATES_PATH" ] && ! cmp --silent "$CA_CERTIFICATES_PATH" "$LOCAL_CA_PATH"; then
	cp "$CA_CERTIFICATES_PATH" "$LOCAL_CA_PATH" 2>/dev/null && update-ca-certificates --fresh >/dev/null 2>&1 || true
fi
exec gitlab-runner "$@"
