#!/bin/sh
# Runs the container's command with DJANGO_SECRET_KEY set: the one from the environment when
# given, else a key generated on first start into the volume web and worker share, so sessions
# and unsubscribe links outlive restarts and rebuilt containers.
set -eu

if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    key_file="${SECRET_KEY_FILE:-/app/var/secret_key}"
    if [ ! -s "$key_file" ]; then
        (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(50))' >"$key_file.$$")
        # ln never replaces a file: if another container wrote the key first, both use its key.
        ln "$key_file.$$" "$key_file" 2>/dev/null || true
        rm -f "$key_file.$$"
    fi
    DJANGO_SECRET_KEY="$(cat "$key_file")"
    export DJANGO_SECRET_KEY
fi

exec "$@"
