#!/usr/bin/env bash
# `make sam-local-test`: docs/deploying.md's `sam local` workflow, for real. A
# private dockerd (no bridge, no iptables: containers share the host's
# network and all traffic stays on 127.0.0.1), a stand-in for the Lambda
# base image built from Debian, moto on a free port with the dev tenant and
# the sample jobs; then `sam local invoke` replays every file of events/
# through its function and `sam local start-api` serves the quick-start
# curls. Everything started here is stopped on exit, and the exit checks
# that no container, mount or process of this run is left.
#
# Run by the Makefile target, which installs docker.io and debootstrap,
# builds the host (x86_64, debug) binaries and puts .venv-lambda (SAM) first
# on PATH. Needs root (dockerd, debootstrap).
set -euo pipefail
cd "$(dirname "$0")/../.."
source system-tests/lambda/smoke-lib.sh
started=$SECONDS

BIN_DIR=${SAM_LOCAL_BIN_DIR:-$PWD/target/debug}
# Docker's data root, kept between runs (the stand-in base image and SAM's
# emulation image built on it: a warm run rebuilds neither). Only this
# script's dockerd uses it.
STATE=$PWD/target/sam-local
# This run's dockerd socket, exec root and pid file, SAM's inputs.
RUN=$(mktemp -d)
# Debian's client, whichever docker is first on PATH.
DOCKER=/usr/bin/docker
export DOCKER_HOST="unix://$RUN/docker.sock"
BASE_IMAGE=public.ecr.aws/lambda/provided:al2023-x86_64
SAM_PYTHON=$PWD/.venv-lambda/bin/python

dockerd_pid= api_pid=
cleanup() {
  local status=$? p left
  set +e
  if [ -n "$api_pid" ]; then
    # SIGINT is how SAM expects to be stopped: it removes its containers.
    kill -INT "$api_pid" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$api_pid" 2>/dev/null
    wait "$api_pid" 2>/dev/null
  fi
  if [ -n "$dockerd_pid" ]; then
    # Any container still there is this run's (a private daemon).
    left=$("$DOCKER" ps -aq 2>/dev/null)
    [ -n "$left" ] && "$DOCKER" rm -f $left >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 600); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    wait "$dockerd_pid" 2>/dev/null
    # dockerd leaves the bind mount of its own network namespace behind
    # when it stops; it is under this run's directory.
    for p in "$RUN"/exec/netns/*; do [ -e "$p" ] && umount "$p"; done
  fi
  smoke_cleanup
  # Nothing may outlive the run: no mount under the data root or the run's
  # directory, no process (containerd, a shim) naming the run's directory.
  left=$(findmnt -rn -o TARGET | grep -F -e "$STATE/" -e "$RUN" || true)
  if [ -n "$left" ]; then
    echo "sam-local-test: mounts left behind, unmounting: $left" >&2
    while read -r p; do umount "$p"; done <<<"$left"
    status=1
  fi
  left=$(pgrep -f "$RUN" || true)
  if [ -n "$left" ]; then
    echo "sam-local-test: processes left behind: $(ps -o pid=,args= -p "${left//$'\n'/,}")" >&2
    status=1
  fi
  rm -rf "$RUN"
  exit "$status"
}
trap cleanup EXIT

show_logs() { # on a failure
  for f in "$SMOKE_LOG"/*.log; do echo "--- $f" >&2; tail -n 25 "$f" >&2; done
}
smoke_failed() { show_logs; exit 1; }

# ---- dockerd: no bridge, no iptables, so no container network exists and
# containers can only use the host's. overlay2, or vfs where the file system
# cannot hold overlay2's layers (slower, same result).
mkdir -p "$STATE/docker"
start_dockerd() { # storage driver
  dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver "$1" \
    --data-root "$STATE/docker" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid" \
    -H "$DOCKER_HOST" >>"$SMOKE_LOG/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1200); do
    "$DOCKER" info >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || { wait "$dockerd_pid" 2>/dev/null; dockerd_pid=; return 1; }
    sleep 0.1
  done
  echo "dockerd did not answer within 120 s" >&2; show_logs; exit 1
}
start_dockerd overlay2 || start_dockerd vfs || { echo "dockerd did not start" >&2; show_logs; exit 1; }
echo "dockerd: $("$DOCKER" info --format '{{.ServerVersion}}, {{.Driver}}') on $DOCKER_HOST"

# ---- The stand-in base image. No registry is reachable, so SAM cannot pull
# the real one; with --skip-pull-image it builds its emulation image (the
# base plus the Runtime Interface Emulator it ships) on whatever has the tag.
# The functions need only glibc and system CA roots: a minimal rootfs of the
# host's Debian release (the same glibc the host binaries were linked with).
if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  release=$(. /etc/os-release && echo "$VERSION_CODENAME")
  rootfs="$STATE/rootfs"
  rm -rf "$rootfs"
  echo "building the stand-in $BASE_IMAGE (debootstrap --variant=minbase $release)"
  debootstrap --variant=minbase --include=ca-certificates "$release" "$rootfs" >"$SMOKE_LOG/debootstrap.log" 2>&1 \
    || { show_logs; exit 1; }
  tar -C "$rootfs" -c . | "$DOCKER" import - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

# ---- moto, the dev tenant (its webhooks to a receiver on loopback), the
# sample jobs; SAM's inputs for this run.
smoke_start_moto "$BIN_DIR/dev-server"
smoke_start_receiver "$BIN_DIR/imagesaas-admin"
"$SAM_PYTHON" system-tests/lambda/sam_local_files.py "$RUN" "$BIN_DIR" "$AWS_ENDPOINT_URL" "$QUEUE_URL" \
  "$CURSOR_SECRET_ARN" "$TABLE_NAME" "$RESULTS_BUCKET" "$DELIVERY_QUEUE_URL" "$DELIVERY_DLQ_URL"

# SAM itself: without the service's settings in its environment (the
# functions get them from --env-vars only: that is what is under test), its
# own STS call answered by moto (it asks for the caller identity before
# every invoke; without an endpoint that is ~10 s of retries each time).
# A command, not a function: `"${sam_cli[@]}" ... &` is then SAM's own
# process ($! is its pid, and it gets the SIGINT that stops it cleanly).
sam_cli=(env -u AWS_ENDPOINT_URL -u TABLE_NAME -u QUEUE_URL -u RESULTS_BUCKET -u CURSOR_SECRET_ARN -u LOCAL_MODE
  -u DELIVERY_QUEUE_URL -u DELIVERY_DLQ_URL
  AWS_ENDPOINT_URL_STS="$AWS_ENDPOINT_URL" AWS_DEFAULT_REGION="$AWS_REGION" SAM_CLI_TELEMETRY=0
  "$SAM_PYTHON" system-tests/lambda/sam_host_network.py)
# The flags of docs/deploying.md's recipe; sam_host_network.py explains why the
# host network needs more than --docker-network host.
SAM_FLAGS=(-t "$RUN/template.yaml" --env-vars "$RUN/env.json" --skip-pull-image --docker-network host)

# ---- sam local invoke, every sample event.
smoke_invoke() { # function (binary name), event file
  local id
  id="$(sed -E 's/(^|-)(.)/\U\2/g' <<<"$1")Function"
  echo "== sam local invoke $id -e events/$2" >>"$SMOKE_LOG/sam-invoke.log"
  "${sam_cli[@]}" local invoke "$id" -e "events/$2" "${SAM_FLAGS[@]}" 2>>"$SMOKE_LOG/sam-invoke.log" \
    || { echo "FAIL: sam local invoke $id exited $?" >&2; show_logs; exit 1; }
}
invokes=$SECONDS
smoke_every_event
echo "sam local invoke: every event answered as expected ($((SECONDS - invokes)) s)"

# ---- sam local start-api and the quick start's curls.
API_PORT=$(free_port)
"${sam_cli[@]}" local start-api "${SAM_FLAGS[@]}" --host 127.0.0.1 --port "$API_PORT" >"$SMOKE_LOG/start-api.log" 2>&1 &
api_pid=$!
wait_port "$API_PORT" "sam local start-api" "$SMOKE_LOG/start-api.log"
API_BASE="http://127.0.0.1:$API_PORT"
API_KEY=img_test_dev_123456789

answer=
api() { # expected status, curl arguments (the path relative to API_BASE)
  local expected=$1 status
  shift
  # The command as docs/deploying.md writes it: quoted where it has spaces.
  local shown=curl a
  for a in "$@"; do [[ $a == *[\ \&]* ]] && a="'$a'"; shown+=" $a"; done
  echo "\$ $shown" | sed "s|$API_BASE|\${API_BASE}|; s|$API_KEY|\${API_KEY}|"
  answer=$(curl -sS --max-time 120 -w '\n%{http_code}' "$@")
  status=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  echo "  -> $status $answer"
  [ "$status" = "$expected" ] || { echo "FAIL: expected $expected" >&2; smoke_failed; }
}
auth=(-H "Authorization: Bearer $API_KEY")
echo "sam local start-api on \${API_BASE}=$API_BASE"
api 200 "$API_BASE/health"
api 202 -X POST "$API_BASE/v1/images/generate" "${auth[@]}" -H "Content-Type: application/json" \
  -d '{"prompt": "A cute cat sitting on a couch", "mode": "draft"}'
job=$(json_get 'r["jobId"]' "$answer")
api 200 "$API_BASE/v1/jobs/$job" "${auth[@]}"
python3 -c 'import json,sys;r=json.loads(sys.argv[1]);assert r["jobId"]==sys.argv[2] and r["status"]=="QUEUED",r' "$answer" "$job"
api 200 "$API_BASE/v1/jobs?status=QUEUED&limit=10" "${auth[@]}"
python3 -c 'import json,sys;r=json.loads(sys.argv[1]);assert sys.argv[2] in [j["id"] for j in r["items"]],r' "$answer" "$job"
api 200 -X DELETE "$API_BASE/v1/jobs/$job" "${auth[@]}"
python3 -c 'import json,sys;r=json.loads(sys.argv[1]);assert r["status"]=="CANCELED",r' "$answer"
api 401 "$API_BASE/v1/jobs" -H "Authorization: Bearer img_test_not_a_key_0000"
echo "sam-local-test: every invoke and every start-api request answered as expected ($((SECONDS - started)) s)"
