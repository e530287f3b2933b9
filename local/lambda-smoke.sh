#!/usr/bin/env bash
# The functions under the real Lambda runtime loop: `cargo lambda watch`
# emulates the Lambda Runtime API and runs each function binary; `cargo
# lambda invoke` sends the sample events. AWS is a moto server on a free
# port. Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
MOTO_PORT=$(free_port)
WATCH_PORT=$(free_port)
LOG=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # cargo lambda watch runs the functions as its children.
  pkill -P "${pids[1]:-0}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() { # port, what, log
  for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "$2 did not start on port $1" >&2; tail -n 30 "$3" >&2; exit 1
}

# moto lives in the Python that `make python-deps` installed it into, not
# in the tools' virtualenv that comes first on PATH here.
"${MOTO_PYTHON:-python3}" local/moto_server.py "$MOTO_PORT" >"$LOG/moto.log" 2>&1 &
pids+=($!)
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
wait_port "$MOTO_PORT" moto "$LOG/moto.log"

# Resources, dev tenant and the sample jobs the events refer to.
provisioned=$(cargo run --quiet -p local --bin dev-server -- --provision-only --seed-samples)
eval "$(grep -E '^[A-Z_]+=' <<<"$provisioned")"
# CURSOR_SECRET_ARN as the template gives it to list-jobs: its cold start
# reads the secret from (moto's) Secrets Manager.
export TABLE_NAME QUEUE_URL RESULTS_BUCKET CURSOR_SECRET_ARN
export LOCAL_MODE=1 RUST_LOG=info

cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,TABLE_NAME=$TABLE_NAME,QUEUE_URL=$QUEUE_URL,RESULTS_BUCKET=$RESULTS_BUCKET,CURSOR_SECRET_ARN=$CURSOR_SECRET_ARN,LOCAL_MODE=1" \
  >"$LOG/watch.log" 2>&1 &
pids+=($!)
wait_port "$WATCH_PORT" "cargo lambda watch" "$LOG/watch.log"

invoke() { # function, event file, expected statusCode
  local out
  out=$(cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-file "events/$2")
  local status
  status=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1]).get("statusCode"))' "$out")
  if [ "$status" != "$3" ]; then
    echo "FAIL $1 $2: statusCode $status, expected $3: $out" >&2
    tail -n 30 "$LOG/watch.log" >&2
    exit 1
  fi
  echo "ok   $1 <- events/$2: $3 $(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["body"][:120])' "$out")"
}

invoke health health.json 200
invoke generate generate.json 202
invoke get-job get-job.json 200
invoke list-jobs list-jobs.json 200
invoke cancel-job cancel-job.json 200

# The worker on the SQS sample: the job it names ends SUCCEEDED.
out=$(cargo lambda invoke worker --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-file events/worker-sqs.json)
python3 -c 'import json,sys;r=json.loads(sys.argv[1]);assert r["batchItemFailures"]==[],r' "$out"
echo "ok   worker <- events/worker-sqs.json: $out"
final=$(cargo lambda invoke get-job --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-file events/get-job.json)
python3 -c 'import json,sys;b=json.loads(json.loads(sys.argv[1])["body"]);assert b["status"]=="SUCCEEDED",b' "$final"
echo "ok   get-job after the worker: SUCCEEDED"
out=$(cargo lambda invoke webhooks --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-file events/webhooks-terminal.json)
python3 -c 'import json,sys;r=json.loads(sys.argv[1]);assert r["batchItemFailures"]==[],r' "$out"
echo "ok   webhooks <- events/webhooks-terminal.json: $out"
out=$(cargo lambda invoke sweeper --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-file events/sweeper-schedule.json)
python3 -c 'import json,sys;r=json.loads(sys.argv[1]);assert r["requeued"]==[] and r["tenants"]>=1,r' "$out"
echo "ok   sweeper <- events/sweeper-schedule.json: $out"
echo "lambda-smoke: all invocations answered as expected"
