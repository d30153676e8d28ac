#!/usr/bin/env bash
# Benchmark: CPU seconds and peak RSS of `loaxa run` broadcasting SECONDS (default one
# hour) of 128 kbps MP3 to a PulseAudio null sink, and of `mpg123 -o pulse` playing the
# same file to the same sink, one after the other. Each player's figure includes what it
# cost the PulseAudio server (its CPU from /proc over the same span): the whole station.
# Then loaxa again with proof of air on ([monitor] input = the sink's monitor: a parec
# child, dead-air detection and the heard/silent/mismatch verdict), the same way.
# Then the idle daemon's CPU and wakeups between sessions over IDLE seconds (default 60).
# Usage: benches/playout.sh [SECONDS] [IDLE]   (measures the station's build: the `dist`
# profile and features scripts/package ships, built here)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3600}; idle=${2:-60}
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
bin=$PWD/target/dist/loaxa
# What scripts/package ships: the sound card, not the province's tools.
cargo build --profile dist -q --no-default-features --features alsa
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

# Music-like test audio: chords with slow tremolo and a little noise, 128 kbps CBR MP3.
sox -n -r 44100 -c 2 -b 16 "$work/src.wav" synth "$secs" sine 220 sine 277 sine 330 \
  tremolo 0.3 30 vol 0.4 >/dev/null 2>&1
lame --quiet -b 128 "$work/src.wav" "$work/hour.mp3"; rm "$work/src.wav"

export HOME=$work XDG_RUNTIME_DIR=$work
pulseaudio --daemonize=no --exit-idle-time=-1 -n --use-pid-file=no --disable-shm=yes \
  --load="module-null-sink sink_name=amp rate=48000" \
  --load="module-native-protocol-unix auth-anonymous=1 socket=$work/native" >/dev/null 2>&1 &
ppid_=$!
export PULSE_SERVER=unix:$work/native
until pactl info >/dev/null 2>&1; do sleep 0.2; done

mkdir "$work/cfg"
cat > "$work/cfg/station.toml" <<TOML
station_id = "bench"
[paths]
state = "state"
[audio]
output = "pulse:amp"
loudness_target = -16.0              # normalised and limited, as stations run
TOML
end=$(date -u -d "@$((secs + 60))" +%H:%M:%S)
cat > "$work/cfg/schedule.toml" <<TOML
timezone = "UTC"
[[session]]
name = "Bench"
start = "00:00:00"
end = "$end"
  [[session.item]]
  file = "$work/hour.mp3"
TOML
"$bin" --config "$work/cfg" check >/dev/null   # measures the file once, outside the timing

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

s0=$(ticks $ppid_)
/usr/bin/time -f "%U %S %M %e" -o "$work/mpg123.time" mpg123 -q -o pulse -a amp "$work/hour.mp3"
s1=$(ticks $ppid_)

/usr/bin/time -f "%U %S %M %e" -o "$work/loaxa.time" \
  "$bin" --config "$work/cfg" run --start-at "2021-10-01T23:59:59+00:00" 2>"$work/loaxa.log" &
lpid=$!
s2=$(ticks $ppid_)
# loaxa's item ends when its last sample is heard; then stop it.
until grep -q '"event":"end"' "$work/cfg/state/asrun/"*.jsonl 2>/dev/null; do sleep 1; done
s3=$(ticks $ppid_)
pkill -TERM -P $lpid; wait $lpid || true

# The same with proof of air: loaxa's CPU includes its recorder child (waited for at exit).
cp -r "$work/cfg" "$work/mon"; rm -rf "$work/mon/state"
printf '[monitor]\ninput = "pulse:amp.monitor"\n' >> "$work/mon/station.toml"
"$bin" --config "$work/mon" check >/dev/null
/usr/bin/time -f "%U %S %M %e" -o "$work/monitor.time" \
  "$bin" --config "$work/mon" run --start-at "2021-10-01T23:59:59+00:00" 2>"$work/monitor.log" &
lpid=$!
s4=$(ticks $ppid_)
until grep -q '"event":"end"' "$work/mon/state/asrun/"*.jsonl 2>/dev/null; do sleep 1; done
s5=$(ticks $ppid_)
pkill -TERM -P $lpid; wait $lpid || true

read lu ls lrss lwall < "$work/loaxa.time"
read mu ms mrss mwall < "$work/mpg123.time"
read ou os orss owall < "$work/monitor.time"
lcpu=$(echo "$lu + $ls" | bc); mcpu=$(echo "$mu + $ms" | bc); ocpu=$(echo "$ou + $os" | bc)
lsrv=$(echo "($s3 - $s2) / $hz" | bc -l); msrv=$(echo "($s1 - $s0) / $hz" | bc -l)
osrv=$(echo "($s5 - $s4) / $hz" | bc -l)
ltot=$(echo "$lcpu + $lsrv" | bc -l); mtot=$(echo "$mcpu + $msrv" | bc -l)
otot=$(echo "$ocpu + $osrv" | bc -l)
per_hour() { echo "$1 * 3600 / $secs" | bc -l; }
echo "audio: ${secs}s of 128 kbps MP3 to a PulseAudio null sink, one player after the other"
printf "loaxa run : cpu %6.2f s + server %6.2f s = %6.2f s  (%6.1f s per audio-hour)  peak rss %6d KiB\n" "$lcpu" "$lsrv" "$ltot" "$(per_hour $ltot)" "$lrss"
printf "mpg123    : cpu %6.2f s + server %6.2f s = %6.2f s  (%6.1f s per audio-hour)  peak rss %6d KiB\n" "$mcpu" "$msrv" "$mtot" "$(per_hour $mtot)" "$mrss"
printf "ratio loaxa/mpg123: whole station cpu %.2f  player cpu %.2f  rss %.2f\n" \
  "$(echo "$ltot / $mtot" | bc -l)" "$(echo "$lcpu / $mcpu" | bc -l)" "$(echo "$lrss / $mrss" | bc -l)"
printf "loaxa run + [monitor]: cpu %6.2f s + server %6.2f s = %6.2f s  (%6.1f s per audio-hour; monitoring adds %.1f s per audio-hour)  peak rss %6d KiB\n" \
  "$ocpu" "$osrv" "$otot" "$(per_hour $otot)" "$(per_hour "($otot - $ltot)")" "$orss"
grep -h 'heard:' "$work/monitor.log" | sed 's/^.*heard:/  verdict:/' | head -3

# Idle: the daemon between sessions (next session 12 h away).
"$bin" --config "$work/cfg" run --start-at "2021-10-01T12:00:00+00:00" 2>/dev/null &
ipid=$!; sleep 3
switches() { cat /proc/$ipid/task/*/status | awk '/_ctxt_switches/ {s += $2} END {print s}'; }
t0=$(ticks $ipid); w0=$(switches); sleep "$idle"; t1=$(ticks $ipid); w1=$(switches)
printf "idle daemon over %ss: cpu %.3f s (%.3f%%), %.1f wakeups/s, rss %s KiB\n" "$idle" \
  "$(echo "($t1 - $t0) / $hz" | bc -l)" "$(echo "($t1 - $t0) / $hz / $idle * 100" | bc -l)" \
  "$(echo "($w1 - $w0) / $idle" | bc -l)" "$(awk '/VmRSS/ {print $2}' /proc/$ipid/status)"
kill -TERM $ipid; wait $ipid || true
