// The fleet page (`loaxa fleet serve`): every station the broker knows, filtered, and
// what each recent push became, refreshed once a second from /api/v1/fleet.
'use strict';

const T = {
  vi: {
    title: 'Các đài trong tỉnh', pushes: 'Bản tin đã gửi', footer: 'trang của tỉnh, không cần Internet', other: 'English',
    all: 'Tất cả', offline: 'Mất kết nối', silent: 'Im lặng', short: 'Thiếu chỉ tiêu', emergency: 'Khẩn cấp', online: 'Trực tuyến',
    station: 'Đài', state: 'Trạng thái', session: 'Buổi', playing: 'Đang phát', amplifier: 'Tăng âm', feed: 'Nguồn tin',
    quotas: 'Chỉ tiêu hôm nay', problems: 'Sự cố', heard: 'Tin gần nhất', on: 'bật', off: 'tắt', none: 'Chưa có',
    noPush: 'Chưa có bản tin nào được gửi từ khi mở trang.', lost: 'Mất kết nối với máy chủ',
    ev: { accepted: 'đã nhận', refused: 'từ chối', started: 'đang phát', ended: 'đã phát xong', interrupted: 'bị ngắt' },
  },
  en: {
    title: 'Stations of the province', pushes: 'Pushes sent', footer: 'the province\'s own page, no Internet needed', other: 'Tiếng Việt',
    all: 'All', offline: 'Offline', silent: 'Silent', short: 'Short of quota', emergency: 'Emergency', online: 'Online',
    station: 'Station', state: 'State', session: 'Session', playing: 'Playing', amplifier: 'Amplifier', feed: 'Feed',
    quotas: 'Today\'s quotas', problems: 'Problems', heard: 'Last heard', on: 'on', off: 'off', none: 'None',
    noPush: 'No push seen since this page started.', lost: 'Lost contact with the server',
    ev: { accepted: 'accepted', refused: 'refused', started: 'playing', ended: 'played', interrupted: 'interrupted' },
  },
};
let lang = localStorage.getItem('loaxa.lang') === 'en' ? 'en' : 'vi';
let filter = 'all';
let snap = null;
const t = (k) => T[lang][k] ?? k;
const $ = (id) => document.getElementById(id);
function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') e.textContent = v; else if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const flags = (s) => [!s.online && 'offline', s.silent && 'silent', s.short && 'short', s.online && s.emergency && 'emergency'].filter(Boolean);
const shown = (s) => filter === 'all' || flags(s).includes(filter);

function render() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  $('lang').textContent = t('other');
  if (!snap) return;
  const f = $('filters');
  f.textContent = '';
  for (const k of ['all', 'offline', 'silent', 'short']) {
    const n = k === 'all' ? snap.stations.length : snap.stations.filter((s) => flags(s).includes(k)).length;
    const b = el('button', { type: 'button', class: filter === k ? 'on' : '', 'data-filter': k, text: `${t(k)} (${n})` });
    b.addEventListener('click', () => { filter = k; render(); });
    f.append(b);
  }
  const table = $('stations');
  table.textContent = '';
  table.append(el('tr', {}, ...['station', 'state', 'session', 'playing', 'amplifier', 'feed', 'quotas', 'problems', 'heard'].map((k) => el('th', { text: t(k) }))));
  for (const s of snap.stations.filter(shown)) {
    const fl = flags(s);
    table.append(el('tr', { class: fl.join(' '), 'data-station': s.id },
      el('td', { text: s.id }),
      el('td', {}, ...(fl.length ? fl : ['online']).map((k) => el('span', { class: `flag ${k}`, text: t(k) }))),
      el('td', { text: s.session || '' }),
      el('td', { text: s.playing || '' }),
      el('td', { text: s.amplifier_on ? t('on') : t('off') }),
      el('td', { text: s.feed_sequence ?? '' }),
      el('td', { text: s.quotas.map((q) => `${q.campaign} ${q.done}/${q.required}`).join(', ') }),
      el('td', { text: s.problems.join(' · ') }),
      el('td', { text: new Date(s.heard).toLocaleTimeString(lang) })));
  }
  const box = $('pushes');
  box.textContent = '';
  if (!snap.pushes.length) box.append(el('p', { class: 'muted', text: t('noPush') }));
  for (const p of snap.pushes) {
    const total = Math.max(p.stations.length, snap.stations.filter((s) => s.online).length, 1);
    const counts = Object.entries(p.counts).map(([k, n]) => `${T[lang].ev[k] || k}: ${n}`).join(' · ');
    const ended = p.counts.ended || 0;
    const bar = el('div', { class: 'fill ended' });
    bar.style.width = `${(100 * ended) / total}%`;
    box.append(el('div', { class: 'push', 'data-push': p.id },
      el('div', {}, el('strong', { text: p.id }), ` — ${counts}`),
      el('div', { class: 'qbar' }, bar),
      el('div', { class: 'acks' }, ...p.stations.map(([station, a]) => el('span', { class: `chip ack ${a.event === 'refused' ? 'o-failed' : a.event === 'ended' ? 'o-ok' : 'o-playing'}`, 'data-station': station, 'data-event': a.event, text: `${station}: ${T[lang].ev[a.event] || a.event}${a.reason ? ` (${a.reason})` : ''}` })))));
  }
}

async function poll() {
  try {
    const r = await fetch('/api/v1/fleet', { cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    snap = await r.json();
    $('conn').hidden = true;
    $('clock').textContent = new Date(snap.generated).toLocaleTimeString(lang);
    render();
  } catch (e) {
    $('conn').hidden = false;
    $('conn').textContent = t('lost');
  }
  setTimeout(poll, document.hidden ? 5000 : 1000);
}

$('lang').addEventListener('click', () => { lang = lang === 'vi' ? 'en' : 'vi'; localStorage.setItem('loaxa.lang', lang); render(); });
render();
poll();
