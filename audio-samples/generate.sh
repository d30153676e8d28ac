#!/usr/bin/env bash
# Regenerates every file in audio-samples/ from scratch: Vietnamese speech from
# espeak-ng, jingles and filler music synthesised by sox, each encoded by a real
# encoder (lame, oggenc, flac, ffmpeg's AAC). All output is original and
# license-clean (CC0). Needs: espeak-ng sox lame vorbis-tools flac ffmpeg.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p music

speak() { # speak OUT.wav "text"
  espeak-ng -v vi -s 150 -w "$tmp/raw.wav" "$2"
  # espeak writes 22050 Hz mono; pad 0.3 s each side so bulletins breathe.
  sox "$tmp/raw.wav" -r 22050 -b 16 "$1" pad 0.3 0.3 norm -3
}

# A short melody of plucked notes: the station jingle (nhạc hiệu).
melody() { # melody OUT.wav note...
  local out=$1; shift
  local parts=()
  local i=0
  for n in "$@"; do
    sox -n -r 44100 -c 1 "$tmp/n$i.wav" synth 0.45 pluck "$n" fade 0 0.45 0.2
    parts+=("$tmp/n$i.wav"); i=$((i + 1))
  done
  sox "${parts[@]}" -b 16 "$out" norm -3
}

melody "$tmp/jingle.wav" C4 E4 G4 C5 G4 E4 G4 C5 C5
lame --quiet -b 96 "$tmp/jingle.wav" nhac-hieu.mp3

melody "$tmp/closing.wav" C5 G4 E4 C4 E4 C4
oggenc --quiet -q 2 -o ket-thuc.ogg "$tmp/closing.wav"

# Emergency chimes, J-ALERT style: rising and falling two-tone.
sox -n -r 44100 -c 1 "$tmp/up.wav" synth 0.4 sine 880 synth 0.4 sine 1320 : synth 0.4 sine 880 : synth 0.6 sine 1320 norm -3
sox "$tmp/up.wav" -b 16 chuong-bao.wav
sox -n -r 44100 -c 1 "$tmp/down.wav" synth 0.4 sine 1320 : synth 0.4 sine 880 : synth 0.8 sine 660 fade 0 0.8 0.4 norm -3
sox "$tmp/down.wav" -b 16 chuong-het.wav

speak "$tmp/hotline.wav" "Ban Chỉ đạo 389 công bố đường dây nóng: không chín tám một, ba tám chín, ba tám chín; và không chín sáu một, ba tám chín, ba tám chín. Người dân hãy tố giác hành vi buôn lậu, gian lận thương mại và hàng giả."
lame --quiet -V 5 --tt "Đường dây nóng 389" --ta "loaxa" "$tmp/hotline.wav" duong-day-nong.mp3

speak "$tmp/campaign.wav" "Tăng cường tuyên truyền chống buôn lậu, gian lận thương mại và hàng giả trong sáu tháng cuối năm hai nghìn không trăm hai mươi mốt. Không mua bán hàng nhập lậu, hàng giả, hàng kém chất lượng."
ffmpeg -loglevel error -y -i "$tmp/campaign.wav" -c:a aac -b:a 48k bcd389-tuyen-truyen.m4a

speak "$tmp/local.wav" "Đài truyền thanh xã xin thông báo: sáng mai, ủy ban nhân dân xã tổ chức tiêm chủng tại trạm y tế xã. Đề nghị bà con mang theo căn cước công dân."
lame --quiet -b 64 "$tmp/local.wav" tin-dia-phuong.mp3

# Filler music: slow chords, 40 s each, quiet enough to sit under a session.
chord() { # chord OUT.wav f1 f2 f3
  sox -n -r 22050 -c 1 -b 16 "$1" synth 40 sine "$2" sine "$3" sine "$4" remix - tremolo 0.2 40 fade 2 40 3 norm -8
}
chord "$tmp/m1.wav" 261.63 329.63 392.00
flac --silent -f -o music/nhac-nen-1.flac "$tmp/m1.wav"
chord "$tmp/m2.wav" 220.00 261.63 329.63
sox "$tmp/m2.wav" -b 16 music/nhac-nen-2.wav
chord "$tmp/m3.wav" 196.00 246.94 293.66
oggenc --quiet -q 0 -o music/nhac-nen-3.ogg "$tmp/m3.wav"

ls -l . music
