#!/usr/bin/env bash
# Runs a command against a fresh local stack (`make dev`'s dev-server, with
# its own moto, on free ports), then stops the stack, whatever the command's
# outcome: `bash clients/live-stack.sh CMD [ARGS...]`.
#
# The clients' live suites (clients/python/tests/live, clients/typescript/test/live)
# read what they need from the environment this exports:
#   IMAGESAAS_LIVE_BASE_URL  the stack's API, http://127.0.0.1:<port>
#   IMAGESAAS_LIVE_ADMIN     the admin CLI, with the AWS_* variables it needs
#                            exported too (the suites make their own tenants)
#   IMAGESAAS_LIVE_DEV_KEY   the dev tenant's key, as in the README
# With IMAGESAAS_LIVE_BASE_URL set a live suite must run: its fixtures fail,
# never skip, when the stack does not answer.
#
# Needs target/debug/dev-server and target/debug/imagesaas-admin (the
# Makefile's test-clients builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[ "$#" -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
for bin in dev-server imagesaas-admin; do
  [ -x "target/debug/$bin" ] || { echo "target/debug/$bin is missing: cargo build -p devstack --bin dev-server -p imagesaas-admin" >&2; exit 2; }
done

PY="${MOTO_PYTHON:-python3}"
PORT=$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
LOG=$(mktemp -d)
# Webhook retries compressed to seconds, so a test that sees a failed
# attempt does not wait the production schedule.
PYTHON="$PY" PORT="$PORT" RUST_LOG=warn WEBHOOK_RETRY_SCHEDULE_SECONDS=1,2,3 \
  target/debug/dev-server >"$LOG/dev.log" 2>&1 &
DEV=$!
stop() {
  kill "$DEV" 2>/dev/null || true
  wait "$DEV" 2>/dev/null || true
  rm -rf "$LOG"
}
trap stop EXIT

# Up to 120 s for moto and the resources on a busy machine; the dev server
# exiting early ends the wait at once.
for _ in $(seq 1200); do
  curl -fsS "$BASE/health" >/dev/null 2>&1 && break
  kill -0 "$DEV" 2>/dev/null || break
  sleep 0.1
done
curl -fsS "$BASE/health" >/dev/null || { echo "the local stack did not start:" >&2; cat "$LOG/dev.log" >&2; exit 1; }

AWS_ENDPOINT_URL=$(grep -oE 'AWS +http://127\.0\.0\.1:[0-9]+' "$LOG/dev.log" | awk '{print $2}')
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  TABLE_NAME=imagesaas-jobs LOCAL_MODE=1
export IMAGESAAS_LIVE_BASE_URL="$BASE"
export IMAGESAAS_LIVE_ADMIN="$ROOT/target/debug/imagesaas-admin"
export IMAGESAAS_LIVE_DEV_KEY=img_test_dev_123456789

status=0
"$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- the local stack's log (last 40 lines)" >&2
  tail -n 40 "$LOG/dev.log" >&2
fi
exit "$status"
