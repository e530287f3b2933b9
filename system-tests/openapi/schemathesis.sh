#!/usr/bin/env bash
# schemathesis against the local stack, from docs/openapi.yaml: every
# operation, all checks, bounded in examples and time. The stack (and its
# moto) is started here on free ports and stopped on exit. A tenant with
# high limits is made with the admin CLI, so rate limits do not starve the
# run (429s are still documented answers).
set -euo pipefail
cd "$(dirname "$0")/../.."

free_port() { "${MOTO_PYTHON:-python3}" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
LOG=$(mktemp -d)
PYTHON="${MOTO_PYTHON:-python3}" PORT="$PORT" RUST_LOG=warn target/debug/dev-server >"$LOG/dev.log" 2>&1 &
DEV=$!
trap 'kill $DEV 2>/dev/null; wait $DEV 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -fsS "$BASE/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$BASE/health" >/dev/null || { echo "the local stack did not start" >&2; cat "$LOG/dev.log" >&2; exit 1; }

export AWS_ENDPOINT_URL
AWS_ENDPOINT_URL=$(grep -oE 'AWS +http://127\.0\.0\.1:[0-9]+' "$LOG/dev.log" | awk '{print $2}')
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 TABLE_NAME=imagesaas-jobs LOCAL_MODE=1
# A webhook (to a closed loopback port), so a generated per-job `webhookUrl`
# has a secret to be signed with.
TENANT=$(target/debug/imagesaas-admin --json tenant create --name fuzz --rpm 100000 --max-concurrency 1000 --webhook-url http://127.0.0.1:9/hooks \
  | "${MOTO_PYTHON:-python3}" -c 'import json,sys;print(json.load(sys.stdin)["tenantId"])')
KEY=$(target/debug/imagesaas-admin --json key create --tenant "$TENANT" --mode test \
  | "${MOTO_PYTHON:-python3}" -c 'import json,sys;print(json.load(sys.stdin)["key"])')

# system-tests/openapi/schemathesis.toml says which generic checks do not fit the contract
# and why.
schemathesis --config-file system-tests/openapi/schemathesis.toml run docs/openapi.yaml \
  --url "$BASE" \
  --header "Authorization: Bearer $KEY" \
  --checks all --exclude-checks use_after_free,unsupported_method \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-300}" \
  --seed 20261124 \
  --workers 2 \
  --request-timeout 15 \
  --report junit --report-dir target/schemathesis
