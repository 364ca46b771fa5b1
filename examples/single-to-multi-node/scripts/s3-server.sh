#!/usr/bin/env bash
# The local stand-in for the S3 bucket: PyPI's moto server on loopback, with one bucket.
#   s3-server.sh start WORK_DIR MOTO_SERVER_BIN PORT BUCKET
#   s3-server.sh stop  WORK_DIR
set -euo pipefail
cmd=$1 work=$2
dir="$work/s3"
pid_file="$dir/moto.pid"
case $cmd in
  start)
    bin=$3 port=$4 bucket=$5
    mkdir -p "$dir"
    if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then exit 0; fi
    # Detached in its own session; the process writes its own pid (setsid may fork).
    setsid bash -c 'echo $$ >"$0"; exec "$1" -H 127.0.0.1 -p "$2"' "$pid_file" "$bin" "$port" \
      </dev/null >>"$dir/moto.log" 2>&1 &
    for _ in $(seq 1 50); do [[ -s $pid_file ]] && break; sleep 0.1; done
    for _ in $(seq 1 150); do
      if python3 -c "
import urllib.request
req = urllib.request.Request('http://127.0.0.1:$port/$bucket', method='PUT')
urllib.request.urlopen(req, timeout=1)" 2>/dev/null; then
        echo "s3: moto on 127.0.0.1:$port, bucket $bucket"; exit 0
      fi
      sleep 0.2
    done
    echo "moto did not start" >&2; tail -20 "$dir/moto.log" >&2; exit 1
    ;;
  stop)
    if [[ -f $pid_file ]]; then
      pid=$(cat "$pid_file")
      # setsid made it a process group leader: stop the group, and wait until it is gone.
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 -- "-$pid" 2>/dev/null || true
      rm -f "$pid_file"
    fi
    echo "s3: stopped"
    ;;
  *) echo "usage: $0 start|stop WORK_DIR [MOTO_BIN PORT BUCKET]" >&2; exit 2 ;;
esac
