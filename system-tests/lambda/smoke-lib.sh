# Sourced by lambda-smoke.sh (cargo lambda watch) and sam-local-test.sh
# (sam local), both in system-tests/lambda/: free ports, moto with the dev tenant
# and the sample jobs events/ refers to, and the replay of every sample
# event with the check of each answer. The caller runs from the repo root
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
# (TABLE_NAME, QUEUE_URL, RESULTS_BUCKET, CURSOR_SECRET_ARN).
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
  export TABLE_NAME QUEUE_URL RESULTS_BUCKET CURSOR_SECRET_ARN
}

# What a failed check does after printing it; callers override it to show
# their logs first.
smoke_failed() { exit 1; }

json_get() { # python expression on r (the parsed answer), answer
  python3 -c 'import json,sys;r=json.loads(sys.argv[2]);print(eval(sys.argv[1]))' "$1" "$2"
}

# An HTTP function's answer: its statusCode, and a JSON body.
expect_http() { # function, event, expected statusCode
  local out status
  out=$(smoke_invoke "$1" "$2")
  status=$(json_get 'r.get("statusCode")' "$out")
  if [ "$status" != "$3" ]; then
    echo "FAIL $1 $2: statusCode $status, expected $3: $out" >&2
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
  local seen=(health.json generate.json get-job.json list-jobs.json cancel-job.json worker-sqs.json
    webhooks-terminal.json webhooks-non-terminal.json sweeper-schedule.json)
  local f
  for f in events/*.json; do
    [[ " ${seen[*]} " == *" $(basename "$f") "* ]] || { echo "FAIL: $f is replayed by no smoke test" >&2; exit 1; }
  done
  expect_http health health.json 200
  expect_http generate generate.json 202
  expect_http get-job get-job.json 200
  expect_http list-jobs list-jobs.json 200
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
  expect_no_failures webhooks webhooks-terminal.json
  expect_no_failures webhooks webhooks-non-terminal.json
  local out
  out=$(smoke_invoke sweeper sweeper-schedule.json)
  json_get 'r["requeued"] == [] and r["tenants"] >= 1' "$out" | grep -qx True || {
    echo "FAIL sweeper: $out" >&2
    smoke_failed sweeper
  }
  echo "ok   sweeper <- events/sweeper-schedule.json: $out"
}
