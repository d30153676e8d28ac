#!/usr/bin/env bash
# Push → accepted, and the API's read throughput, on a daemon playing the bundled config.
# Usage: benches/push_latency.sh [PUSHES] [SECONDS]   (needs wrk, minisign not needed)
# Prints: per push, the time `loaxa push` waits for 202 (signature, upload, sha256, full
# decode in a child process, store); then wrk on /api/v1/status and /metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
pushes=${1:-20}; secs=${2:-10}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
bin=$PWD/target/release/loaxa; [ -x "$bin" ] || cargo build --release -q
work=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
"$bin" keygen "$work/keys" >/dev/null
pub=$(sed -n 2p "$work/keys/loaxa.pub")
cp -rL config "$work/config"
port=18480
cat > "$work/config/station.toml" <<TOML
station_id = "bench"
[paths]
state = "$work/state"
[audio]
output = "null"
[feed]
public_keys = ["$pub"]
[emergency]
start_chime = "audio/chuong-bao.wav"
end_chime = "audio/chuong-het.wav"
[api]
listen = "127.0.0.1:$port"
TOML
"$bin" --config "$work/config" run --start-at 2021-10-01T05:29:55+07:00 2>"$work/daemon.log" & pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/api/v1/status" && break; sleep 0.2; done
file=audio-samples/duong-day-nong.mp3
echo "file: $file ($(stat -c %s $file) bytes); $pushes normal pushes, one after another"
times=()
for i in $(seq "$pushes"); do
  t0=$(date +%s%N)
  "$bin" push "http://127.0.0.1:$port" "$file" --key "$work/keys/loaxa.key" --title "Bench $i" \
     --id "bench-$i" --from 2021-10-02 --until 2021-10-02 >/dev/null
  times+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "push → 202: median %d ms, max %d ms (n=%d)\n", a[int((NR+1)/2)], a[NR], NR}'
for path in /api/v1/status /metrics; do
  rps=$(wrk -t2 -c32 -d"${secs}s" "http://127.0.0.1:$port$path" | awk '/Requests\/sec/ {print int($2)}')
  echo "GET $path: $rps requests/s (wrk, 32 connections, while the session plays)"
done
late=$(cat "$work"/state/asrun/2021-10-01.jsonl | grep -o '"late_ms":[-0-9]*' | cut -d: -f2 | sort -n | tail -1)
echo "worst late_ms of the session meanwhile: ${late:-none}"
