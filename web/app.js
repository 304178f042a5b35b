// evstream viewer: plain ES module, no build step. Protocol: src/server/protocol.ts.
// Two sources of frames, one drawing path: the live pipeline (websocket /ws, control via /api) and a
// recording opened in the page (local/local.js, built from src/web: decoded, binned and segmented here).
// The static build (dist/web, any file server) carries <meta name="evstream-mode" content="static">: then
// the page never touches /ws or /api and only the open-recording mode exists.
const FRAME_MAGIC = 0xe5;
const HEADER = 32;
const BG = [11, 14, 20];
const ON = [90, 200, 255];
const OFF = [255, 90, 140];

const $ = (id) => document.getElementById(id);
const els = {
  conn: $('conn'), src: $('src'), pipeline: $('pipeline'), model: $('model'), untrained: $('untrained'),
  events: $('events'), overlay: $('overlay'), waiting: $('waiting'), pausedTag: $('pausedTag'),
  pause: $('pause'), reset: $('reset'), speed: $('speed'), alpha: $('alpha'),
  fps: $('fps'), inFps: $('inFps'), lat: $('lat'), step: $('step'), dropped: $('dropped'), cdropped: $('cdropped'),
  legend: $('legend'), layers: $('layers'), frameIdx: $('frameIdx'), evTime: $('evTime'), evCount: $('evCount'), stepT: $('stepT'),
  sourceDesc: $('sourceDesc'), backend: $('backend'), open: $('openRecording'), wrap: $('canvasWrap'),
};
const STATIC = document.querySelector('meta[name="evstream-mode"]')?.content === 'static';

// State visible to tests (e2e) and the console.
const view = (window.evstream = {
  connection: 'connecting',
  source: 'unknown',
  framesReceived: 0,
  statsReceived: 0,
  lastSeq: -1,
  lastStepT: -1,
  paused: false,
  hello: null,
  reconnects: 0,
  layerNames: [],
  mode: STATIC ? 'static' : 'live',
  local: null,
});
let local = null; // the LocalRun of an opened recording (src/web/local-run.ts)

let classes = { names: [], colors: [] };
let layerEls = new Map();
let legendEls = [];
let evCtx = els.events.getContext('2d');
let ovCtx = els.overlay.getContext('2d');
let evImg = null;
let ovImg = null;

function setState(el, state, text) {
  el.dataset.state = state;
  el.querySelector('span').textContent = text;
}

function fmtMs(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v < 10 ? v.toFixed(1) : Math.round(v).toString();
}

function fmtRate(r) {
  const pct = r * 100;
  return pct < 1 ? pct.toFixed(2) + '%' : pct < 10 ? pct.toFixed(1) + '%' : Math.round(pct) + '%';
}

function ensureSize(w, h) {
  if (els.events.width !== w || els.events.height !== h || !evImg) {
    for (const c of [els.events, els.overlay]) { c.width = w; c.height = h; }
    evCtx = els.events.getContext('2d');
    ovCtx = els.overlay.getContext('2d');
    evImg = evCtx.createImageData(w, h);
    ovImg = ovCtx.createImageData(w, h);
    els.waiting.hidden = true;
  }
}

function onHello(h) {
  view.hello = h;
  classes = h.classes;
  els.pipeline.textContent = `pipeline ${h.pipeline}`;
  els.model.textContent = `${h.model.arch} ×${h.model.width} · T=${h.model.T} · ${h.model.encoder}${h.model.checkpoint ? ' · ' + h.model.checkpoint : ''}`;
  els.untrained.hidden = !h.model.untrained;
  els.backend.textContent = h.backendLabel ?? `${h.model.engine === 'onnx' ? 'onnxruntime' : `tfjs ${h.backend}`} · ${h.framing.windowMs} ms windows · ${h.framing.size.join('×')} · drop policy ${h.dropPolicy}`;
  els.sourceDesc.textContent = h.source.description;
  els.speed.disabled = h.sourceKind === 'live';
  setSpeedSelect(h.speed);
  setPaused(h.paused);
  onSource(h.source);
  // legend
  els.legend.replaceChildren();
  legendEls = classes.names.map((name, i) => {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'sw';
    sw.style.background = `rgb(${classes.colors[i].join(',')})`;
    const nm = document.createElement('span');
    nm.textContent = `${i} ${name}`;
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = '–';
    li.append(sw, nm, pct);
    els.legend.append(li);
    return pct;
  });
  // layer bars
  els.layers.replaceChildren();
  layerEls = new Map();
  view.layerNames = h.layers.map((l) => l.name);
  for (const l of h.layers) {
    const row = document.createElement('div');
    row.className = 'layer';
    row.dataset.layer = l.name;
    row.title = `${l.name}: ${l.neurons.toLocaleString()} neurons (${l.shape.join('×')})`;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = l.name;
    const track = document.createElement('div');
    track.className = 'track';
    const fill = document.createElement('div');
    fill.className = 'fill';
    track.append(fill);
    const val = document.createElement('span');
    val.className = 'val';
    val.textContent = '–';
    row.append(name, track, val);
    els.layers.append(row);
    layerEls.set(l.name, { fill, val });
  }
}

function onSource(s) {
  view.source = s.state;
  const detail = s.state === 'reconnecting' ? ' ↻' : '';
  setState(els.src, s.state, `source: ${s.state}${detail}`);
  if (s.detail) els.src.title = s.detail;
}

function setPaused(p) {
  view.paused = p;
  els.pause.textContent = p ? 'Resume' : 'Pause';
  els.pause.classList.toggle('active', p);
  els.pausedTag.hidden = !p;
}

function setSpeedSelect(v) {
  const s = String(v);
  if (![...els.speed.options].some((o) => o.value === s)) {
    const o = document.createElement('option');
    o.value = s;
    o.textContent = Number(v) === 0 ? 'max' : `${s}×`; // 0: unpaced, as fast as the model runs
    els.speed.append(o);
  }
  els.speed.value = s;
}

function onFrameBinary(buf) {
  const dv = new DataView(buf);
  if (buf.byteLength < HEADER || dv.getUint8(0) !== FRAME_MAGIC) return;
  const w = dv.getUint16(4, true);
  const h = dv.getUint16(6, true);
  const plane = w * h;
  if (buf.byteLength !== HEADER + 3 * plane) return;
  const seq = dv.getUint32(8, true);
  drawFrame(w, h, new Uint8Array(buf, HEADER, plane), new Uint8Array(buf, HEADER + plane, plane), new Uint8Array(buf, HEADER + 2 * plane, plane));
  view.lastSeq = seq;
}

/** Event image (ON / OFF bytes 0..255) and class overlay of one frame, and the legend's class shares. */
function drawFrame(w, h, cls, on, off) {
  const plane = w * h;
  ensureSize(w, h);
  const e = evImg.data;
  const o = ovImg.data;
  const counts = new Array(classes.names.length).fill(0);
  for (let i = 0; i < plane; i++) {
    const a = on[i] / 255;
    const b = off[i] / 255;
    e[4 * i] = Math.min(255, BG[0] + a * ON[0] + b * OFF[0]);
    e[4 * i + 1] = Math.min(255, BG[1] + a * ON[1] + b * OFF[1]);
    e[4 * i + 2] = Math.min(255, BG[2] + a * ON[2] + b * OFF[2]);
    e[4 * i + 3] = 255;
    const c = cls[i];
    const col = classes.colors[c] || [0, 0, 0];
    o[4 * i] = col[0];
    o[4 * i + 1] = col[1];
    o[4 * i + 2] = col[2];
    o[4 * i + 3] = 255;
    if (c < counts.length) counts[c]++;
  }
  evCtx.putImageData(evImg, 0, 0);
  ovCtx.putImageData(ovImg, 0, 0);
  legendEls.forEach((el, i) => (el.textContent = ((100 * counts[i]) / plane).toFixed(0) + '%'));
  view.framesReceived++;
}

function onFrameStats(s) {
  view.statsReceived++;
  view.lastStepT = s.t;
  els.fps.textContent = s.fps.toFixed(1);
  els.inFps.textContent = `in ${s.inputFps.toFixed(1)}`;
  const lat = s.e2eMs ?? s.latencyMs;
  els.lat.textContent = `${fmtMs(lat)} ms`;
  els.lat.title = s.e2eMs === null ? 'frame binned → result (ms)' : 'event time → result (ms)';
  els.step.textContent = `model ${fmtMs(s.stepMs)} ms`;
  els.dropped.textContent = String(s.dropped + (s.merged_total || 0));
  els.cdropped.textContent = `this view ${s.clientDropped}`;
  els.frameIdx.textContent = String(s.index);
  els.evTime.textContent = `${(s.t1 / 1e6).toFixed(2)} s`;
  els.evCount.textContent = s.events.toLocaleString();
  els.stepT.textContent = String(s.t);
  for (const l of s.layers) {
    const el = layerEls.get(l.name);
    if (!el) continue;
    // bar scale: 0..25 % spikes per neuron per step (rates above that fill the bar)
    el.fill.style.width = `${Math.min(100, (l.rate / 0.25) * 100).toFixed(1)}%`;
    el.val.textContent = fmtRate(l.rate);
  }
  if (s.paused !== view.paused) setPaused(s.paused);
}

let ws = null;
let backoff = 500;
function connect() {
  if (local) return; // a recording opened in the page replaced the live view
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  ws = new WebSocket(`${proto}://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  view.connection = 'connecting';
  setState(els.conn, 'connecting', view.reconnects ? 'viewer: reconnecting' : 'viewer: connecting');
  ws.onopen = () => {
    backoff = 500;
    view.connection = 'connected';
    setState(els.conn, 'connected', 'viewer: connected');
  };
  ws.onmessage = (ev) => {
    if (ev.data instanceof ArrayBuffer) return onFrameBinary(ev.data);
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    switch (m.type) {
      case 'hello': return onHello(m);
      case 'frame': return onFrameStats(m);
      case 'source': return onSource(m);
      case 'control': setPaused(m.paused); setSpeedSelect(m.speed); return;
      case 'error': console.warn('server rejected a message:', m.message); return;
    }
  };
  ws.onclose = () => {
    view.connection = 'reconnecting';
    view.reconnects++;
    setState(els.conn, 'reconnecting', 'viewer: reconnecting');
    setTimeout(connect, backoff);
    backoff = Math.min(5000, backoff * 2);
  };
  ws.onerror = () => {};
}

async function control(body) {
  if (STATIC) return; // no server behind a static page: nothing to control before a recording is opened
  try {
    const r = await fetch('/api/control', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok) { console.warn('control failed:', j.message); return; }
    setPaused(j.paused);
    setSpeedSelect(j.speed);
  } catch (e) {
    console.warn('control failed:', e);
  }
}

els.pause.onclick = () => (local ? (view.paused ? local.play() : local.pause()) : control({ action: view.paused ? 'resume' : 'pause' }));
els.reset.onclick = () => (local ? local.reset() : control({ action: 'reset' }));
els.speed.onchange = () => (local ? local.setSpeed(Number(els.speed.value)) : control({ action: 'speed', value: Number(els.speed.value) }));

// Open a recording: segmented in this page (the live websocket, if any, is closed for good).
async function openRecording(file) {
  if (!file) return;
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  view.mode = 'local';
  setState(els.conn, 'connecting', `local: loading model`);
  // the previous file's run ends its current frame first: nothing of it is drawn or counted after this
  if (local) { local.stop(); await local.done; local = null; }
  try {
    const { LocalRun } = await import('./local/local.js');
    local = await LocalRun.open(file, {
      hello: onHello,
      frame: drawFrame,
      stats: onFrameStats,
      paused: setPaused,
      speed: setSpeedSelect,
      error: (m) => setState(els.src, 'error', `source: ${m}`),
    });
    view.local = local.state;
    els.speed.disabled = false;
    setState(els.conn, 'connected', `local: ${local.state.backend}`);
  } catch (e) {
    console.error('evstream: cannot open the recording:', e);
    setState(els.conn, 'error', `local: ${e.message ?? e}`);
  }
}
els.open.onchange = () => openRecording(els.open.files[0]);
els.wrap.addEventListener('dragover', (e) => { e.preventDefault(); els.wrap.classList.add('drop'); });
els.wrap.addEventListener('dragleave', () => els.wrap.classList.remove('drop'));
els.wrap.addEventListener('drop', (e) => {
  e.preventDefault();
  els.wrap.classList.remove('drop');
  openRecording(e.dataTransfer?.files?.[0]);
});
els.alpha.oninput = () => (els.overlay.style.opacity = String(els.alpha.value / 100));
els.overlay.style.opacity = String(els.alpha.value / 100);
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === ' ') { e.preventDefault(); els.pause.click(); }
  if (e.key === 'r') els.reset.click();
});

if (STATIC) {
  setState(els.conn, 'unknown', 'static page');
  setState(els.src, 'unknown', 'source: open a recording');
  els.waiting.textContent = 'open a recording (or drop one here)';
} else connect();
