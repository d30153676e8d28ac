// The station page (SPEC §14): what the station does now, its day as a timeline, its
// campaigns. Everything comes from the daemon's own API on the same address; nothing is
// fetched from anywhere else (the page is served with a Content-Security-Policy that
// forbids it). Text is put in with textContent only, never parsed as HTML.
'use strict';

const T = {
  vi: {
    title: 'Đài truyền thanh', now: 'Bây giờ', next: 'Tiếp theo', timeline: 'Lịch phát trong ngày',
    today: 'Hôm nay', campaigns: 'Chiến dịch', todayQuota: 'Tiến độ hôm nay', month: 'Báo cáo tháng',
    csv: 'Tải CSV (Excel)', json: 'Tải JSON', footer: 'trang của đài, không cần Internet',
    other: 'English', onair: 'Đang phát', offair: 'Không phát', session: 'buổi',
    emergency: 'ĐANG PHÁT TIN KHẨN CẤP', waiting: 'tin khẩn đang chờ', nothing: 'Không có mục nào',
    amplifier: 'Tăng âm', on: 'Bật', off: 'Tắt', output: 'Đầu ra âm thanh', good: 'tốt', fault: 'lỗi',
    feed: 'Nguồn tin tỉnh', sequence: 'số', bulletins: 'bản tin', lastSuccess: 'nhận lần cuối',
    lastError: 'lỗi gần nhất', refusal: 'Từ chối gần nhất', reload: 'Nạp lại cấu hình',
    reloadOk: 'thành công', reloadBad: 'Cấu hình mới có lỗi — đài vẫn phát theo lịch cũ. Sửa tệp rồi lưu lại:',
    never: 'chưa có', lanes: 'Mỗi buổi: hàng trên là kế hoạch, hàng dưới là những gì đã phát. Chạm vào một mục để xem chi tiết.', outside: 'Ngoài buổi phát',
    noPlan: 'Không có buổi phát nào trong ngày này.', all: 'Tất cả chiến dịch', campaign: 'Chiến dịch',
    required: 'Yêu cầu', done: 'Đã phát', short: 'Thiếu', daysShort: 'Số ngày thiếu',
    plannedToday: 'đã lên lịch', noQuota: 'Hôm nay không có chiến dịch nào.',
    noMonth: 'Chưa có số liệu cho tháng này.', disconnected: 'Mất kết nối với đài — số liệu cũ từ',
    clockHeld: 'Đồng hồ của đài bị sai: chỉ phát tin khẩn cấp cho đến khi đồng hồ đúng.',
    silence: 'MẤT TIẾNG: đang phát nhưng không nghe thấy âm thanh ở đầu ra từ', problems: 'Sự cố', warnings: 'Cảnh báo', ago: 'trước', loading: 'Đang tải…', error: 'Không tải được',
    f_title: 'Tiêu đề', f_id: 'Mã', f_kind: 'Loại', f_campaign: 'Chiến dịch', f_source: 'Nguồn',
    f_planned: 'Dự kiến', f_aired: 'Thực tế', f_late: 'Trễ', f_reason: 'Lý do', f_outcome: 'Kết quả',
    kind: { opening: 'Mở đầu', bulletin: 'Bản tin', file: 'Chương trình', relay: 'Tiếp sóng', fill: 'Nhạc đệm', closing: 'Kết thúc' },
    outcome: { ok: 'Đúng giờ', late: 'Trễ', interrupted: 'Bị ngắt', failed: 'Lỗi', skipped: 'Bỏ qua', rejected: 'Từ chối', playing: 'Đang phát', unfinished: 'Dở dang', silence: 'Mất tiếng' },
    source: { local: 'tại đài', feed: 'nguồn tỉnh', push: 'tỉnh gửi' },
  },
  en: {
    title: 'Commune radio', now: 'Now', next: 'Next', timeline: 'The day', today: 'Today',
    campaigns: 'Campaigns', todayQuota: 'Today', month: 'Month report', csv: 'Download CSV (Excel)',
    json: 'Download JSON', footer: 'the station\'s own page, no Internet needed', other: 'Tiếng Việt',
    onair: 'On air', offair: 'Off air', session: 'session', emergency: 'EMERGENCY ON AIR',
    waiting: 'more emergencies waiting', nothing: 'Nothing', amplifier: 'Amplifier', on: 'On', off: 'Off',
    output: 'Sound output', good: 'ok', fault: 'fault', feed: 'Provincial feed', sequence: 'sequence',
    bulletins: 'bulletins', lastSuccess: 'last reached', lastError: 'last error', refusal: 'Last refusal',
    reload: 'Config reload', reloadOk: 'ok', reloadBad: 'The new configuration has errors — still broadcasting the last good schedule. Fix the file and save it again:',
    never: 'never', lanes: 'Each session: the upper row is the plan, the lower row what aired. Tap an item for its details.', outside: 'Outside sessions',
    noPlan: 'No session on this day.', all: 'All campaigns', campaign: 'Campaign', required: 'Required',
    done: 'Done', short: 'Short', daysShort: 'Days short', plannedToday: 'planned',
    noQuota: 'No campaign today.', noMonth: 'No figures for this month yet.',
    disconnected: 'Lost contact with the station — figures as of', clockHeld: 'The station clock is wrong: only emergencies play until it is right.',
    silence: 'DEAD AIR: on air, yet the output monitor hears nothing since', problems: 'Problems', warnings: 'Warnings', ago: 'ago', loading: 'Loading…', error: 'Could not load',
    f_title: 'Title', f_id: 'Id', f_kind: 'Kind', f_campaign: 'Campaign', f_source: 'Source',
    f_planned: 'Planned', f_aired: 'Aired', f_late: 'Late', f_reason: 'Reason', f_outcome: 'Outcome',
    kind: { opening: 'Opening', bulletin: 'Bulletin', file: 'Programme', relay: 'Relay', fill: 'Filler', closing: 'Closing' },
    outcome: { ok: 'On time', late: 'Late', interrupted: 'Interrupted', failed: 'Failed', skipped: 'Skipped', rejected: 'Refused', playing: 'Playing', unfinished: 'Unfinished', silence: 'Dead air' },
    source: { local: 'local', feed: 'feed', push: 'pushed' },
  },
};

// A start later than this is drawn as late.
const LATE_MS = 1000;
const POLL_MS = 1000;
const POLL_HIDDEN_MS = 5000;
const SVGNS = 'http://www.w3.org/2000/svg';

let lang = localStorage.getItem('loaxa.lang') === 'en' ? 'en' : 'vi';
const S = { status: null, seen: 0, offset: 0, date: null, plan: null, asrun: null, dayKey: '', month: null, report: null, lost: false };

function t(key) { return T[lang][key] ?? T.vi[key] ?? key; }
function tt(group, key) { return (T[lang][group] || {})[key] ?? key; }
const $ = (id) => document.getElementById(id);

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// Times travel as RFC 3339 with the station's offset: shown as the station's wall clock.
const ms = (s) => Date.parse(s);
const hms = (s) => (s ? s.slice(11, 19) : '');
const hm = (s) => (s ? s.slice(11, 16) : '');
// A range: to the second when both ends fall in the same minute (a short item).
const span = (a, b) => (hm(a) === hm(b) ? `${hms(a)}–${hms(b)}` : `${hm(a)}–${hm(b)}`);
// Dates as Vietnamese readers write them, whatever the browser's locale: 31/12/2021.
const dmy = (iso) => (iso ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : '');
function parseDmy(text) {
  const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(text) || null;
  const iso = m ? `${m[3]}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}` : /^\d{4}-\d\d-\d\d$/.test(text.trim()) ? text.trim() : null;
  return iso && !Number.isNaN(Date.parse(`${iso}T00:00:00Z`)) && new Date(`${iso}T00:00:00Z`).toISOString().slice(0, 10) === iso ? iso : null;
}
function offsetOf(s) {
  const m = /([+-])(\d\d):(\d\d)$/.exec(s || '');
  return m ? (m[1] === '-' ? -1 : 1) * (m[2] * 60 + +m[3]) * 60000 : 0;
}
function wall(msUtc) {
  const d = new Date(msUtc + S.offset);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
// The station's clock now: its last status, moved on by the time since it came.
function stationNow() { return S.status ? ms(S.status.updated) + (performance.now() - S.seen) : Date.now(); }
function seconds(n) { return lang === 'vi' ? `${(n / 1000).toFixed(1).replace('.', ',')} giây` : `${(n / 1000).toFixed(1)} s`; }
function ago(unix) {
  if (unix == null) return t('never');
  const m = Math.max(0, Math.round((stationNow() / 1000 - unix) / 60));
  return m < 1 ? (lang === 'vi' ? 'vừa xong' : 'just now') : m < 120 ? `${m} ${lang === 'vi' ? 'phút' : 'min'} ${t('ago')}` : `${Math.round(m / 60)} ${lang === 'vi' ? 'giờ' : 'h'} ${t('ago')}`;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
  if (r.status === 401) { location.reload(); throw new Error('401'); }
  if (!r.ok) throw new Error(`${r.status}`);
  return r.json();
}

// ---- Now -----------------------------------------------------------------------------

function renderNow() {
  const s = S.status;
  if (!s) return;
  $('station').textContent = s.station_id;
  const banner = $('emergency');
  banner.hidden = !s.emergency;
  if (s.emergency) {
    banner.textContent = `${t('emergency')}: ${s.now_playing ? s.now_playing.title : s.emergency}` +
      (s.emergencies_waiting ? ` (+${s.emergencies_waiting} ${t('waiting')})` : '');
  }
  const alerts = $('alerts');
  alerts.textContent = '';
  const r = s.last_reload;
  if (r && !r.ok) {
    alerts.append(el('div', { class: 'banner bad', id: 'reload-errors' }, el('strong', { text: t('reloadBad') }),
      el('ul', {}, ...r.errors.map((e) => el('li', { class: 'mono', text: e })))));
  }
  if (s.silence) alerts.append(el('div', { class: 'banner bad', id: 'silence', text: `${t('silence')} ${hms(s.silence.since)} (${s.silence.level_db} dBFS)` }));
  if (s.clock_held) alerts.append(el('div', { class: 'banner bad', text: t('clockHeld') }));
  if (s.problems && s.problems.length) {
    alerts.append(el('div', { class: 'banner warn' }, el('strong', { text: `${t('problems')}: ` }),
      el('ul', {}, ...s.problems.map((p) => el('li', { text: p })))));
  }
  const onair = s.session || s.emergency;
  $('onair').className = `onair ${onair ? 'live' : 'idle'}`;
  $('onair').textContent = onair ? `● ${t('onair')}${s.session ? ` — ${t('session')} ${s.session}` : ''}` : `○ ${t('offair')}`;
  const p = s.now_playing;
  $('playing').textContent = '';
  if (p) {
    $('playing').append(el('span', { class: `chip k-${p.kind}`, text: tt('kind', p.kind) }), ' ',
      el('strong', { text: p.title || p.id }), ` ${span(p.start, p.end)}`);
  }
  renderProgress();
  const facts = $('facts');
  facts.textContent = '';
  const fact = (k, v, cls) => facts.append(el('dt', { text: k }), el('dd', { class: cls || '', text: v }));
  fact(t('amplifier'), s.amplifier_on ? t('on') : t('off'), s.amplifier_on ? 'good' : '');
  fact(t('output'), `${s.output} — ${s.output_ok ? t('good') : t('fault')}`, s.output_ok ? 'good' : 'bad');
  if (s.feed) {
    fact(t('feed'), `${t('sequence')} ${s.feed.sequence ?? '—'}, ${s.feed.bulletins} ${t('bulletins')}, ${t('lastSuccess')} ${ago(s.feed.last_success)}`);
    if (s.feed.last_error) fact(t('lastError'), s.feed.last_error, 'bad');
  }
  if (s.last_refusal) {
    const f = s.last_refusal;
    fact(t('refusal'), `${hms(f.at)} ${f.source} ${f.reason}: ${f.message}`, 'warn');
  }
  fact(t('reload'), r ? `${hms(r.at)} ${r.ok ? t('reloadOk') : `${r.errors.length} ${t('fault')}`}` : t('never'), r && !r.ok ? 'bad' : '');
  if (s.warnings.length) fact(t('warnings'), s.warnings.join(' · '), 'warn');
  const next = $('next');
  next.textContent = '';
  for (const i of s.next) {
    next.append(el('li', {}, el('span', { class: 'mono', text: hm(i.start) }), ' ',
      el('span', { class: `chip k-${i.kind}`, text: tt('kind', i.kind) }), ' ', i.title || i.id));
  }
  if (!s.next.length) next.append(el('li', { class: 'muted', text: t('nothing') }));
  renderQuotas();
}

function renderProgress() {
  const s = S.status;
  const bar = $('progress');
  const p = s && s.now_playing;
  if (!p || !s.now_started) { bar.style.width = '0'; return; }
  const length = ms(p.end) - ms(p.start);
  const done = stationNow() - ms(s.now_started);
  bar.style.width = `${Math.max(0, Math.min(100, (100 * done) / Math.max(length, 1)))}%`;
}

function renderClock() {
  if (S.status) { const w = wall(stationNow()); $('clock').textContent = `${dmy(w)} ${w.slice(11, 19)}`; }
  const c = $('conn');
  c.hidden = !S.lost;
  if (S.lost && S.status) c.textContent = `${t('disconnected')} ${hms(S.status.updated)}`;
  renderProgress();
}

function renderQuotas() {
  const box = $('quotas');
  box.textContent = '';
  const qs = S.status ? S.status.quotas : [];
  if (!qs.length) box.append(el('p', { class: 'muted', text: t('noQuota') }));
  for (const q of qs) {
    const pct = q.required ? Math.min(100, (100 * q.done) / q.required) : 100;
    const bar = el('div', { class: 'fill' });
    bar.style.width = `${pct}%`;
    box.append(el('div', { class: 'quota', 'data-campaign': q.campaign, 'data-done': q.done, 'data-required': q.required },
      el('div', { class: 'qname' }, el('strong', { text: q.campaign }),
        ` ${q.done}/${q.required} (${t('plannedToday')} ${q.planned})`),
      el('div', { class: `qbar ${q.done >= q.required ? 'met' : ''}` }, bar)));
  }
}

// ---- The day -------------------------------------------------------------------------

// As-run records become plays (a start and what ended it) and marks (what never played).
function airings(records, live) {
  const plays = [];
  const open = [];
  const marks = [];
  for (const r of records) {
    const id = r.item && r.item.id;
    if (r.event === 'start' && r.item) {
      const late = r.late_ms || 0;
      open.push({ item: r.item, a: ms(r.ts), b: null, ts: r.ts, late, outcome: late > LATE_MS ? 'late' : 'ok' });
    } else if ((r.event === 'end' || r.event === 'interrupted') && r.item) {
      const k = open.map((o) => o.item.id).lastIndexOf(id);
      if (k < 0) continue;
      const play = open.splice(k, 1)[0];
      play.b = ms(r.ts);
      play.end = r.ts;
      if (r.event === 'interrupted') { play.outcome = 'interrupted'; play.reason = r.reason; }
      plays.push(play);
    } else if (['failed', 'skipped', 'rejected', 'silence'].includes(r.event)) {
      marks.push({ item: r.item, a: ms(r.ts), ts: r.ts, outcome: r.event, reason: r.reason });
    }
  }
  // Still open: playing now, or cut by a stop the log could not record.
  open.forEach((o, i) => {
    const now = live && i === open.length - 1;
    o.b = now ? Math.max(o.a, stationNow()) : o.a + (ms(o.item.end) - ms(o.item.start));
    if (now) { if (o.outcome === 'ok') o.outcome = 'playing'; } else o.outcome = 'unfinished';
    plays.push(o);
  });
  plays.sort((x, y) => x.a - y.a);
  return { plays, marks };
}

function rowsOf(plan, air) {
  const rows = (plan ? plan.sessions : []).map((s) => ({ name: s.name, a: ms(s.start), b: ms(s.end), items: s.items, plays: [], marks: [] }));
  const outside = { name: t('outside'), a: Infinity, b: -Infinity, items: [], plays: [], marks: [] };
  const home = (a, b) => rows.find((r) => a < r.b && b > r.a) || rows.find((r) => a >= r.a - 60000 && a <= r.b + 60000) || outside;
  for (const p of air.plays) home(p.a, p.b).plays.push(p);
  for (const m of air.marks) home(m.a, m.a + 1).marks.push(m);
  if (outside.plays.length || outside.marks.length) rows.push(outside);
  for (const r of rows) {
    for (const p of r.plays) { r.a = Math.min(r.a, p.a); r.b = Math.max(r.b, p.b); }
    for (const m of r.marks) { r.a = Math.min(r.a, m.a - 30000); r.b = Math.max(r.b, m.a + 30000); }
    if (r.b - r.a < 1000) r.b = r.a + 1000;
  }
  return rows.sort((x, y) => x.a - y.a);
}

function renderDay() {
  const started = performance.now();
  const box = $('timeline');
  box.textContent = '';
  $('detail').hidden = true;
  if (!S.plan) { box.append(el('p', { class: 'muted', text: S.plan === null ? t('loading') : t('error') })); return; }
  const live = S.status && S.date === S.status.plan_date;
  const air = airings(S.asrun || [], live);
  const rows = rowsOf(S.plan, air);
  if (!rows.length) { box.append(el('p', { class: 'muted', text: t('noPlan') })); window.loaxaRenderMs = performance.now() - started; return; }
  // Drawn at the box's own width in pixels, so text keeps its size on a phone.
  const W = Math.max(300, Math.round(box.clientWidth || 1000)), L = 2, R = 2, H = 98;
  const root = svg('svg', { viewBox: `0 0 ${W} ${rows.length * H}`, class: 'tl', role: 'img' });
  const frag = document.createDocumentFragment();
  rows.forEach((row, n) => {
    const g = svg('g', { transform: `translate(0 ${n * H})`, class: 'row', 'data-session': row.name });
    const x = (v) => L + ((v - row.a) / (row.b - row.a)) * (W - L - R);
    const label = svg('text', { x: L, y: 14, class: 'rowname' }, g);
    label.textContent = `${row.name}  ${hm(wall(row.a))}–${hm(wall(row.b))}`;
    svg('rect', { x: L, y: 22, width: W - L - R, height: 22, class: 'lane' }, g);
    svg('rect', { x: L, y: 52, width: W - L - R, height: 22, class: 'lane' }, g);
    // A time axis under the lanes: a tick every 5, 15 or 60 minutes as the row is long,
    // at most one label per 60 px so a phone stays legible.
    const span_ms = row.b - row.a;
    const step = [60000, 300000, 900000, 1800000, 3600000, 7200000].find((s) => (W / span_ms) * s >= 60) || 7200000;
    for (let v = Math.ceil(row.a / step) * step; v <= row.b; v += step) {
      svg('line', { x1: x(v), x2: x(v), y1: 76, y2: 80, class: 'tick' }, g);
      const label = svg('text', { x: Math.min(Math.max(x(v), L + 18), W - R - 18), y: 92, class: 'ticklabel', 'text-anchor': 'middle' }, g);
      label.textContent = hm(wall(v));
    }
    for (const i of row.items) {
      const r = svg('rect', { x: x(ms(i.start)), y: 22, width: Math.max(1.5, x(ms(i.end)) - x(ms(i.start))), height: 22, class: `it k-${i.kind}`, 'data-lane': 'plan', 'data-id': i.id, 'data-kind': i.kind }, g);
      tip(r, `${hms(i.start)}–${hms(i.end)} ${tt('kind', i.kind)}: ${i.title || i.id}`);
      r.addEventListener('click', () => detail({ item: i }));
    }
    for (const p of row.plays) {
      const r = svg('rect', { x: x(p.a), y: 52, width: Math.max(1.5, x(p.b) - x(p.a)), height: 22, class: `it o-${p.outcome}`, 'data-lane': 'asrun', 'data-id': p.item.id, 'data-kind': p.item.kind, 'data-outcome': p.outcome, 'data-late': p.late }, g);
      tip(r, `${hms(p.ts)} ${tt('outcome', p.outcome)}${p.late > LATE_MS ? ` +${seconds(p.late)}` : ''}: ${p.item.title || p.item.id}`);
      r.addEventListener('click', () => detail({ item: p.item, play: p }));
      if (p.outcome === 'late') svg('path', { d: `M${x(p.a)} 50 l5 -8 l5 8 z`, class: 'flag late' }, g);
    }
    for (const m of row.marks) {
      const cx = x(m.a);
      const r = svg('path', { d: `M${cx} 80 l6 10 l-12 0 z`, class: `mark o-${m.outcome}`, 'data-lane': 'asrun', 'data-outcome': m.outcome, 'data-id': m.item ? m.item.id : '' }, g);
      tip(r, `${hms(m.ts)} ${tt('outcome', m.outcome)}: ${m.item ? m.item.title || m.item.id : ''} ${m.reason || ''}`);
      r.addEventListener('click', () => detail({ item: m.item, play: m }));
    }
    const now = stationNow();
    if (live && now >= row.a && now <= row.b) svg('line', { x1: x(now), x2: x(now), y1: 18, y2: 78, class: 'nowline' }, g);
    frag.appendChild(g);
  });
  root.appendChild(frag);
  box.append(root);
  window.loaxaRenderMs = performance.now() - started;
}

function tip(node, text) { svg('title', {}, node).textContent = text; }

function detail({ item, play }) {
  const d = $('detail');
  d.textContent = '';
  d.hidden = false;
  const row = (k, v) => { if (v != null && v !== '') d.append(el('dt', { text: t(k) }), el('dd', { text: String(v) })); };
  if (item) {
    row('f_title', item.title);
    row('f_id', item.id);
    row('f_kind', tt('kind', item.kind));
    row('f_campaign', item.campaign);
    row('f_source', tt('source', item.source));
    row('f_planned', `${hms(item.start)}–${hms(item.end)}`);
  }
  if (play) {
    row('f_outcome', tt('outcome', play.outcome));
    row('f_aired', play.end ? `${hms(play.ts)}–${hms(play.end)}` : hms(play.ts));
    if (play.late) row('f_late', seconds(play.late));
    row('f_reason', play.reason);
  }
}

function renderLegend() {
  const box = $('legend');
  box.textContent = '';
  for (const k of ['opening', 'bulletin', 'file', 'relay', 'fill', 'closing']) box.append(el('span', { class: `chip k-${k}`, text: tt('kind', k) }));
  for (const o of ['ok', 'late', 'interrupted', 'playing', 'failed', 'skipped', 'rejected', 'silence']) box.append(el('span', { class: `chip o-${o}`, text: tt('outcome', o) }));
  box.append(el('span', { class: 'lanes', text: t('lanes') }));
}

async function loadDay(date) {
  S.date = date;
  $('date').value = dmy(date);
  S.plan = null;
  S.asrun = null;
  renderDay();
  try {
    const [plan, asrun] = await Promise.all([getJSON(`/api/v1/plan?date=${date}&unplayed=true`), getJSON(`/api/v1/asrun?date=${date}`)]);
    if (S.date !== date) return;
    S.plan = plan;
    S.asrun = asrun;
  } catch (e) {
    S.plan = false;
  }
  renderDay();
}

async function refreshAsrun() {
  const date = S.date;
  try {
    const asrun = await getJSON(`/api/v1/asrun?date=${date}`);
    if (S.date === date && S.plan) { S.asrun = asrun; renderDay(); }
  } catch (e) { /* kept as it was; the next poll tries again */ }
}

function shiftDate(date, days) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// ---- The month -----------------------------------------------------------------------

async function loadMonth(month) {
  S.month = month;
  $('month').value = month;
  const today = S.status ? S.status.plan_date : new Date().toISOString().slice(0, 10);
  const from = `${month}-01`;
  const last = shiftDate(shiftDate(`${month}-01`, 32).slice(0, 8) + '01', -1);
  const to = last < today ? last : today;
  S.report = null;
  for (const [id, format] of [['csv', 'csv'], ['json', 'json']]) {
    const a = $(id);
    a.href = `/api/v1/report?from=${from}&to=${to}&format=${format}`;
    a.setAttribute('download', `loaxa-${S.status ? S.status.station_id : 'station'}-${month}.${format}`);
  }
  if (from > today) { S.report = false; renderMonth(); return; }
  try {
    const report = await getJSON(`/api/v1/report?from=${from}&to=${to}`);
    if (S.month === month) S.report = report;
  } catch (e) { S.report = false; }
  renderMonth();
}

function renderMonth() {
  const chart = $('chart');
  const table = $('totals');
  chart.textContent = '';
  table.textContent = '';
  const rep = S.report;
  const pick = $('campaign');
  const chosen = pick.value;
  if (!rep || !rep.days.length) { chart.append(el('p', { class: 'muted', text: rep === null ? t('loading') : t('noMonth') })); return; }
  const names = [...new Set(rep.totals.map((x) => x.campaign))];
  pick.textContent = '';
  pick.append(el('option', { value: '', text: t('all') }), ...names.map((c) => el('option', { value: c, text: c })));
  pick.value = names.includes(chosen) ? chosen : '';
  const days = new Map();
  // Every day of the month has its place; days not reported yet (the future) stay empty.
  const first = `${rep.from.slice(0, 7)}-01`;
  for (let d = first; d.slice(0, 7) === first.slice(0, 7); d = shiftDate(d, 1)) days.set(d, d >= rep.from && d <= rep.to ? { required: 0, done: 0, short: 0, reasons: [] } : null);
  for (const r of rep.days) {
    if (pick.value && r.campaign !== pick.value) continue;
    const day = days.get(r.date);
    if (!day) continue;
    day.required += r.required;
    day.done += r.done;
    day.short += r.short;
    if (r.reason) day.reasons.push(`${r.campaign}: ${r.reason}`);
  }
  const W = Math.max(300, Math.round(chart.clientWidth || 1000)), H = 150, B = 20;
  const top = Math.max(1, ...[...days.values()].filter(Boolean).map((d) => Math.max(d.required, d.done)));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H + B}`, class: 'month', role: 'img' });
  const step = (W - 4) / days.size;
  let n = -1;
  for (const [date, d] of days) {
    n += 1;
    const x = 2 + n * step;
    if (!d) continue;
    const h = (v) => (H - 10) * (v / top);
    const g = svg('g', { class: `day ${d.short ? 'isshort' : ''}`, 'data-date': date, 'data-required': d.required, 'data-done': d.done, 'data-short': d.short }, root);
    svg('rect', { x: x + step * 0.1, y: H - h(d.required), width: step * 0.8, height: h(d.required), class: 'req' }, g);
    svg('rect', { x: x + step * 0.2, y: H - h(d.done), width: step * 0.6, height: h(d.done), class: 'done' }, g);
    if (d.short) svg('circle', { cx: x + step / 2, cy: H - h(d.required) - 5, r: 3.5, class: 'shortdot' }, g);
    const day = svg('text', { x: x + step / 2, y: H + 16, class: 'dayno' }, g);
    day.textContent = step >= 16 || +date.slice(8) % 5 === 0 || date === rep.from ? String(+date.slice(8)) : '';
    tip(g, `${dmy(date)}: ${t('done')} ${d.done}/${d.required}${d.short ? `, ${t('short')} ${d.short}` : ''}${d.reasons.length ? ` — ${d.reasons.join('; ')}` : ''}`);
  }
  chart.append(root);
  table.append(el('tr', {}, ...['campaign', 'required', 'done', 'short', 'daysShort'].map((k) => el('th', { text: t(k) }))));
  for (const x of rep.totals) {
    if (pick.value && x.campaign !== pick.value) continue;
    table.append(el('tr', { class: x.short ? 'isshort' : '', 'data-campaign': x.campaign, 'data-required': x.required, 'data-done': x.done, 'data-short': x.short, 'data-days-short': x.days_short },
      el('td', { text: x.title && x.title !== x.campaign ? `${x.title} (${x.campaign})` : x.campaign }),
      el('td', { text: x.required }), el('td', { text: x.done }), el('td', { text: x.short }), el('td', { text: x.days_short })));
  }
}

// ---- Live ----------------------------------------------------------------------------

function applyLang() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  $('lang').textContent = t('other');
  renderLegend();
  renderNow();
  renderDay();
  renderMonth();
}

async function poll() {
  try {
    const s = await getJSON('/api/v1/status');
    const before = S.status;
    S.status = s;
    S.seen = performance.now();
    S.offset = offsetOf(s.updated);
    S.lost = false;
    renderNow();
    const dayKey = JSON.stringify([s.now_playing && s.now_playing.id, s.now_started, s.emergency, s.session, s.last_refusal && s.last_refusal.at]);
    const planKey = JSON.stringify([s.plan_date, s.last_reload && s.last_reload.at, s.quotas.map((q) => q.planned)]);
    S.polls = (S.polls || 0) + 1;
    if (!before) {
      S.planKey = planKey;
      S.dayKey = dayKey;
      await Promise.all([loadDay(s.plan_date), loadMonth(s.plan_date.slice(0, 7))]);
    } else if (S.date === s.plan_date || S.date === before.plan_date) {
      // A new day or a new config: the plan again; something started or ended, or a
      // while has passed: the as-run log again.
      if (planKey !== S.planKey) loadDay(s.plan_date);
      else if (dayKey !== S.dayKey || S.polls % 15 === 0) refreshAsrun();
    }
    S.planKey = planKey;
    S.dayKey = dayKey;
  } catch (e) {
    S.lost = true;
  }
  renderClock();
  setTimeout(poll, document.hidden ? POLL_HIDDEN_MS : POLL_MS);
}

function start() {
  $('lang').addEventListener('click', () => { lang = lang === 'vi' ? 'en' : 'vi'; localStorage.setItem('loaxa.lang', lang); applyLang(); });
  $('date').addEventListener('change', (e) => {
    const iso = parseDmy(e.target.value);
    if (iso) loadDay(iso); else e.target.value = dmy(S.date);
  });
  $('prev').addEventListener('click', () => loadDay(shiftDate(S.date, -1)));
  $('after').addEventListener('click', () => loadDay(shiftDate(S.date, 1)));
  $('today').addEventListener('click', () => S.status && loadDay(S.status.plan_date));
  $('month').addEventListener('change', (e) => { if (e.target.value) loadMonth(e.target.value); });
  $('campaign').addEventListener('change', renderMonth);
  let resized;
  window.addEventListener('resize', () => { clearTimeout(resized); resized = setTimeout(() => { renderDay(); renderMonth(); }, 150); });
  setInterval(renderClock, 1000);
  applyLang();
  poll();
}

start();
