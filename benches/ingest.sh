#!/usr/bin/env bash
# Ingest cost: validate (decode from start to end), measure loudness (EBU R128 integrated,
# true peak) and find the silence to trim, for one hour of audio — `loaxa validate-audio`
# beside `ffmpeg -af ebur128=peak=true` (which measures loudness only) on the same file.
# Usage: benches/ingest.sh [MINUTES]   (needs sox, lame, ffmpeg, GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-60}
bin=$PWD/target/release/loaxa; [ -x "$bin" ] || cargo build --release -q
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Speech-like material: the sample bulletin, repeated, with 2 s of silence at each end.
sox audio-samples/duong-day-nong.mp3 -r 44100 -c 2 "$work/one.wav"
reps=$(( minutes * 60 / $(soxi -D "$work/one.wav" | cut -d. -f1) + 1 ))
sox "$work/one.wav" "$work/long.wav" repeat "$reps" trim 0 "$((minutes * 60))" pad 2 2
lame --quiet -b 128 "$work/long.wav" "$work/long.mp3"
echo "file: $minutes min of 128 kbps MP3 ($(stat -c %s "$work/long.mp3") bytes)"
run() { /usr/bin/time -f "%e s wall, %U+%S s CPU, %M kB peak RSS" "$@"; }
echo "loaxa validate-audio (decode + R128 loudness + true peak + silence):"
run "$bin" validate-audio "$work/long.mp3" > "$work/loaxa.json" 2> "$work/loaxa.time"
tail -1 "$work/loaxa.time"
python3 -c "import json,sys; i=json.load(open('$work/loaxa.json')); print(f\"  {i['loudness_lufs']:.2f} LUFS, true peak {i['true_peak_db']:.2f} dBTP, lead silence at -50 dBFS {i['silence']['lead_ms'][4]} ms\")"
echo "ffmpeg -af ebur128=peak=true (decode + R128 loudness + true peak):"
run ffmpeg -nostats -hide_banner -i "$work/long.mp3" -af ebur128=peak=true -f null - 2> "$work/ffmpeg.log" || true
tail -1 "$work/ffmpeg.log"
grep -E '^\s+I:|^\s+Peak:' "$work/ffmpeg.log" | tail -2 | sed 's/^ */  /'
