#!/usr/bin/env bash
# The functions under the real Lambda runtime loop: `cargo lambda watch`
# emulates the Lambda Runtime API and runs each function binary; `cargo
# lambda invoke` sends the sample events. AWS is a moto server on a free
# port, and the dev tenant's webhooks go to a receiver on loopback.
# Everything started here is stopped on exit. The moto setup, the receiver
# and the checks are smoke-lib.sh, shared with sam-local-test.sh (both in
# system-tests/lambda/).
set -euo pipefail
cd "$(dirname "$0")/../.."
source system-tests/lambda/smoke-lib.sh

WATCH_PORT=$(free_port)
cleanup() {
  # cargo lambda watch runs the functions as its children.
  [ -n "${watch_pid:-}" ] && pkill -P "$watch_pid" 2>/dev/null || true
  smoke_cleanup
}
trap cleanup EXIT

smoke_start_moto cargo run --quiet -p devstack --bin dev-server --
smoke_start_receiver cargo run --quiet -p imagesaas-admin --
# CURSOR_SECRET_ARN as the template gives it to list-jobs: its cold start
# reads the secret from (moto's) Secrets Manager.
export LOCAL_MODE=1 RUST_LOG=info

cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,TABLE_NAME=$TABLE_NAME,QUEUE_URL=$QUEUE_URL,RESULTS_BUCKET=$RESULTS_BUCKET,CURSOR_SECRET_ARN=$CURSOR_SECRET_ARN,DELIVERY_QUEUE_URL=$DELIVERY_QUEUE_URL,DELIVERY_DLQ_URL=$DELIVERY_DLQ_URL,LOCAL_MODE=1" \
  >"$SMOKE_LOG/watch.log" 2>&1 &
watch_pid=$!
smoke_pids+=("$watch_pid")
wait_port "$WATCH_PORT" "cargo lambda watch" "$SMOKE_LOG/watch.log"

smoke_invoke() { # function (binary name), event file
  cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-file "events/$2"
}
smoke_failed() { tail -n 30 "$SMOKE_LOG/watch.log" >&2; exit 1; }

smoke_every_event
echo "lambda-smoke: all invocations answered as expected"
