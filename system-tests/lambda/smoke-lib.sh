# Sourced by lambda-smoke.sh (cargo lambda watch) and sam-local-test.sh
# (sam local), both in system-tests/lambda/: free ports, moto with the dev tenant
# and the sample jobs events/ refers to, a webhook receiver on loopback for
# the dev tenant, and the replay of every sample event with the check of
# each answer. The caller runs from the repo root
# with `set -euo pipefail`, calls smoke_cleanup from its EXIT trap, and
# defines smoke_invoke FUNCTION EVENT_FILE (FUNCTION is the binary's name,
# as in the Makefile's FUNCTIONS), which prints the function's answer.

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

SMOKE_LOG=$(mktemp -d)
smoke_pids=()

# Stops what smoke_start_moto and the caller put in smoke_pids, and waits
# for each: nothing of ours is left running.
smoke_cleanup() {
  local p
  for p in "${smoke_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${smoke_pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

# Waits (generously: a loaded machine) until something listens on the port.
wait_port() { # port, what, log
  for _ in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "$2 did not start on port $1" >&2; tail -n 30 "$3" >&2; exit 1
}

# moto on a free port, provisioned with the dev tenant and the sample jobs.
# Exports the AWS_* settings of the emulator and what provisioning printed
# (TABLE_NAME, QUEUE_URL, RESULTS_BUCKET, CURSOR_SECRET_ARN,
# DELIVERY_QUEUE_URL, DELIVERY_DLQ_URL).
smoke_start_moto() { # dev-server binary (or a cargo run command)
  MOTO_PORT=$(free_port)
  # moto lives in the Python that `make python-deps` installed it into, not
  # in the tools' virtualenv that comes first on PATH here.
  "${MOTO_PYTHON:-python3}" devstack/moto_server.py "$MOTO_PORT" >"$SMOKE_LOG/moto.log" 2>&1 &
  smoke_pids+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  wait_port "$MOTO_PORT" moto "$SMOKE_LOG/moto.log"
  local provisioned
  provisioned=$("$@" --provision-only --seed-samples)
  eval "$(grep -E '^[A-Z_]+=' <<<"$provisioned")"
  export TABLE_NAME QUEUE_URL RESULTS_BUCKET CURSOR_SECRET_ARN DELIVERY_QUEUE_URL DELIVERY_DLQ_URL
}

# A webhook receiver on a free loopback port (receiver.py: 204 to every
# POST, one line per request in $RECEIVED), made the dev tenant's webhook
# URL with the admin CLI. After smoke_start_moto.
smoke_start_receiver() { # imagesaas-admin binary (or a cargo run command)
  local port
  port=$(free_port)
  RECEIVED="$SMOKE_LOG/received.jsonl"
  : >"$RECEIVED"
  python3 system-tests/lambda/receiver.py "$port" "$RECEIVED" >"$SMOKE_LOG/receiver.log" 2>&1 &
  smoke_pids+=($!)
  wait_port "$port" "the webhook receiver" "$SMOKE_LOG/receiver.log"
  # LOCAL_MODE: the admin CLI accepts http to loopback, as the local stack does.
  LOCAL_MODE=1 "$@" tenant update cdevtenant000000000000000 --webhook-url "http://127.0.0.1:$port/hooks" \
    >"$SMOKE_LOG/admin.log" 2>&1 || { cat "$SMOKE_LOG/admin.log" >&2; exit 1; }
  echo "webhook receiver on 127.0.0.1:$port for the dev tenant"
}

# The receiver's requests so far, one JSON object a line.
received_count() { wc -l <"$RECEIVED" | tr -d ' '; }
expect_received() { # count, after what
  local n
  n=$(received_count)
  if [ "$n" != "$1" ]; then
    echo "FAIL after $2: the receiver has $n requests, expected $1: $(cat "$RECEIVED")" >&2
    smoke_failed "$2"
  fi
}

# What a failed check does after printing it; callers override it to show
# their logs first.
smoke_failed() { exit 1; }

json_get() { # python expression on r (the parsed answer), answer, [values for sys.argv[3:]]
  python3 -c 'import json,sys;r=json.loads(sys.argv[2]);print(eval(sys.argv[1]))' "$@"
}

# An HTTP function's answer: its statusCode, and a JSON body; with a check,
# also that the python expression on r (json_get's) is True.
expect_http() { # function, event, expected statusCode, [check, values for sys.argv[3:]]
  local out status
  out=$(smoke_invoke "$1" "$2")
  status=$(json_get 'r.get("statusCode")' "$out")
  if [ "$status" != "$3" ]; then
    echo "FAIL $1 $2: statusCode $status, expected $3: $out" >&2
    smoke_failed "$1"
  fi
  if [ $# -gt 3 ] && [ "$(json_get "$4" "$out" "${@:5}")" != True ]; then
    echo "FAIL $1 $2: not $4: $out" >&2
    smoke_failed "$1"
  fi
  echo "ok   $1 <- events/$2: $3 $(json_get 'json.dumps(json.loads(r["body"]))[:120]' "$out")"
}

# A batch function's answer (SQS, stream): no item to retry.
expect_no_failures() { # function, event
  local out
  out=$(smoke_invoke "$1" "$2")
  json_get 'r["batchItemFailures"]' "$out" | grep -qx '\[\]' || {
    echo "FAIL $1 $2: $out" >&2
    smoke_failed "$1"
  }
  echo "ok   $1 <- events/$2: $out"
}

# Every file of events/, through the function it is for, in an order where
# each sample job is in the state its event expects.
smoke_every_event() {
  local seen=(health.json generate.json get-job.json list-jobs.json usage.json cancel-job.json worker-sqs.json
    webhooks-terminal.json webhooks-non-terminal.json webhook-sender-sqs.json
    deliveries-list.json deliveries-redeliver.json sweeper-schedule.json)
  local f
  for f in events/*.json; do
    [[ " ${seen[*]} " == *" $(basename "$f") "* ]] || { echo "FAIL: $f is replayed by no smoke test" >&2; exit 1; }
  done
  expect_http health health.json 200
  expect_http generate generate.json 202
  expect_http get-job get-job.json 200
  expect_http list-jobs list-jobs.json 200
  expect_http usage usage.json 200
  expect_http cancel-job cancel-job.json 200
  # The worker on the SQS sample: the job it names ends SUCCEEDED (a test
  # key: the fake provider, a PNG in moto's S3).
  expect_no_failures worker worker-sqs.json
  local final
  final=$(smoke_invoke get-job get-job.json)
  json_get 'json.loads(r["body"])["status"]' "$final" | grep -qx SUCCEEDED || {
    echo "FAIL get-job after the worker: $final" >&2
    smoke_failed get-job
  }
  echo "ok   get-job after the worker: SUCCEEDED"
  # The stream function queues the terminal event on the delivery queue
  # and calls no receiver.
  expect_no_failures webhooks webhooks-terminal.json
  expect_no_failures webhooks webhooks-non-terminal.json
  expect_received 0 webhooks
  # The sender on the delivery queue's sample: one signed POST of the job's
  # event to the dev tenant's receiver, logged as delivered.
  expect_no_failures webhook-sender webhook-sender-sqs.json
  expect_received 1 webhook-sender
  local event_id
  event_id=$(python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
sample = json.loads(json.load(open("events/webhook-sender-sqs.json"))["Records"][0]["body"])
body = json.loads(r["body"])
assert r["signed"] and r["path"] == "/hooks", r
assert body["jobId"] == sample["jobId"] and body["eventId"] == r["webhook-id"], r
print(r["webhook-id"])' "$RECEIVED") || { echo "FAIL webhook-sender: $(cat "$RECEIVED")" >&2; smoke_failed webhook-sender; }
  echo "ok   the receiver got event $event_id, signed, for the sample job"
  # The delivery log shows that attempt; a redelivery queues the same event
  # again (no sender runs on it here).
  expect_http deliveries deliveries-list.json 200 \
    'json.loads(r["body"])["items"][0]["eventId"] == sys.argv[3] and [(i["attempt"], i["status"], i["httpStatus"]) for i in json.loads(r["body"])["items"]] == [(1, "delivered", 204)]' \
    "$event_id"
  expect_http deliveries deliveries-redeliver.json 202 \
    'json.loads(r["body"]) == {"eventId": sys.argv[3], "status": "pending"}' "$event_id"
  local out
  out=$(smoke_invoke sweeper sweeper-schedule.json)
  json_get 'r["requeued"] == [] and r["tenants"] >= 1' "$out" | grep -qx True || {
    echo "FAIL sweeper: $out" >&2
    smoke_failed sweeper
  }
  echo "ok   sweeper <- events/sweeper-schedule.json: $out"
}
