#!/usr/bin/env bash
# How many stations one province web server can hold: nginx serving a signed feed, and
# wrk sending the conditional GETs stations send each poll (If-None-Match → 304).
# Usage: benches/feed_scale.sh [SECONDS] [CONNECTIONS]   (needs nginx, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}; conns=${2:-200}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
bin=$PWD/target/release/loaxa; [ -x "$bin" ] || cargo build --release -q
work=$(mktemp -d); trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null; rm -rf "$work"' EXIT
"$bin" keygen "$work/keys" >/dev/null
"$bin" feed campaign "$work/feed" --id c --title c --from 2021-09-17 --until 2021-12-31 --plays-per-day 3 >/dev/null
for i in $(seq 1 20); do cp audio-samples/duong-day-nong.mp3 "$work/b$i.mp3"
  "$bin" feed add "$work/feed" "$work/b$i.mp3" --title "Bản tin $i" --campaign c >/dev/null; done
"$bin" feed publish "$work/feed" --key "$work/keys/loaxa.key" >/dev/null
port=18470
cat > "$work/nginx.conf" <<CONF
worker_processes auto; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:$port; root $work/feed; }
  server { listen 127.0.0.1:$((port + 1)) ssl; root $work/feed;
           ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; } }
CONF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod -R a+rX "$work"   # workers run as an unprivileged user
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.5
etag=$(curl -sI "http://127.0.0.1:$port/feed.json" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://127.0.0.1:$port/feed.json")
echo "manifest: $(stat -c %s "$work/feed/feed.json") bytes, 20 bulletins; conditional GET answers $code"
[ "$code" = 304 ] || { echo "expected 304"; exit 1; }
out=$(wrk -t2 -c"$conns" -d"${secs}s" -H "If-None-Match: $etag" "http://127.0.0.1:$port/feed.json")
echo "$out" | grep -E "Requests/sec|Latency|Non-2xx"
rps=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')
echo "one nginx (2 cores, shared with wrk) serves $rps 304s/s; at one poll per 60 s that is $((rps * 60)) stations (at 10% load: $((rps * 6)))"

# Realistic: a station polling once a minute opens a new TLS connection each time.
out=$(wrk -t2 -c"$conns" -d"${secs}s" -H "Connection: close" -H "If-None-Match: $etag" "https://127.0.0.1:$((port + 1))/feed.json")
echo "$out" | grep -E "Requests/sec|Latency"
tls=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')
echo "HTTPS, a new TLS connection per poll: $tls 304s/s; at one poll per 60 s that is $((tls * 60)) stations (at 10% load: $((tls * 6)))"
