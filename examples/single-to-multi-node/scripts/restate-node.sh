#!/usr/bin/env bash
# The local stand-in for a VM running one Restate node (used by terraform_data provisioners).
#   restate-node.sh start NAME WORK_DIR SERVER_BIN FABRIC_PORT   (config in $RESTATE_TOML)
#   restate-node.sh stop  NAME WORK_DIR
# start writes the rendered restate.toml, stops a running instance, starts restate-server detached
# (so Terraform does not wait on it) and waits until the node answers on its fabric port.
set -euo pipefail
cmd=$1 name=$2 work=$3
dir="$work/$name"
pid_file="$dir/restate.pid"

stop() {
  [[ -f $pid_file ]] || return 0
  local pid; pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    # SIGTERM for a clean shutdown (setsid made it a process group leader), then SIGKILL.
    kill -- "-$pid" 2>/dev/null || kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

case $cmd in
  start)
    server=$4 port=$5
    : "${RESTATE_TOML:?the rendered config must be in RESTATE_TOML}"
    mkdir -p "$dir"
    stop
    printf '%s' "$RESTATE_TOML" >"$dir/restate.toml"
    # Detached in its own session; the process writes its own pid (setsid may fork).
    setsid bash -c 'echo $$ >"$0"; exec "$1" --config-file "$2"' "$pid_file" "$server" "$dir/restate.toml" \
      </dev/null >>"$dir/restate.log" 2>&1 &
    for _ in $(seq 1 50); do [[ -s $pid_file ]] && break; sleep 0.1; done
    for _ in $(seq 1 300); do
      if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then
        echo "$name: restate-server running (pid $(cat "$pid_file"), fabric port $port)"
        exit 0
      fi
      kill -0 "$(cat "$pid_file")" 2>/dev/null || { echo "$name exited; log:" >&2; tail -20 "$dir/restate.log" >&2; exit 1; }
      sleep 0.2
    done
    echo "$name did not answer on port $port" >&2; exit 1
    ;;
  stop) stop; echo "$name: stopped" ;;
  *) echo "usage: $0 start|stop NAME WORK_DIR [SERVER_BIN FABRIC_PORT]" >&2; exit 2 ;;
esac
