"""The viewer's HTML/CSS/JS template (kept in Python so it ships with the package; no network access).

The page reads one JSON blob (``<script id="viewer-data">``): images as data URLs and, per layer, the int8
patch features of all images as one base64 string. Similarity = dot(q_a, q_b) / (|q_a| |q_b|) on the
int8 vectors, exactly what ``visualize.viewer.viewer_similarity`` computes in Python.
"""

PAGE = r'''<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:16px;margin:0 0 8px}
#controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin-bottom:10px}
#grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figcaption{font-size:12px;color:#555;text-align:center}
canvas.view{display:block;cursor:crosshair;image-rendering:auto}
canvas.map{display:none}
#bar{height:16px;width:320px;display:inline-block;vertical-align:middle;border:1px solid #999}
#status{color:#555}
</style></head><body>
<h1>__TITLE__</h1>
<div id="subtitle" style="color:#555;margin:-4px 0 8px">__SUBTITLE__</div>
<div id="controls">
<label>layer <select id="layer"></select></label>
<label>show <select id="show"></select></label>
<label>opacity <input id="alpha" type="range" min="0" max="1" step="0.05" value="0.6"></label>
<label>colour floor <input id="vmin" type="range" min="-1" max="0.9" step="0.05" value="0"></label>
<span><span id="lo">0</span> <canvas id="bar" width="256" height="1"></canvas> 1 (cosine)</span>
<label><input id="hover" type="checkbox" checked> follow mouse (click pins)</label>
<span id="status">hover or click a patch</span>
</div>
<div id="grid"></div>
<script id="viewer-data" type="application/json">__DATA__</script>
<script>
(function () {
  const D = JSON.parse(document.getElementById('viewer-data').textContent);
  const $ = (id) => document.getElementById(id);
  function decode(b64) {  // base64 -> Int8Array (two's complement bytes)
    const bin = atob(b64), out = new Int8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = (bin.charCodeAt(i) << 24) >> 24;
    return out;
  }
  const layers = {};
  for (const L of D.layers) {
    const q = decode(D.features[L.id]), P = L.h * L.w, n = D.images.length, norms = new Float32Array(n * P);
    for (let p = 0; p < n * P; p++) {
      let s = 0; for (let c = 0; c < L.dim; c++) { const v = q[p * L.dim + c]; s += v * v; }
      norms[p] = Math.sqrt(s) || 1;
    }
    layers[L.id] = Object.assign({q: q, norms: norms}, L);
  }
  const imgs = D.images.map((im) => { const e = new Image(); e.src = im.src; return e; });
  const state = {layer: D.layers[D.layers.length - 1].id, show: 'all', query: null};
  const viewer = {data: D, state: state, lastMap: null, ready: false};
  window.viewer = viewer;

  function similarity(L, image, row, col) {  // cosine of int8 vectors, every patch of every image
    const P = L.h * L.w, qi = (image * P + row * L.w + col), base = qi * L.dim, maps = [];
    for (let i = 0; i < D.images.length; i++) {
      const m = new Array(P);
      for (let p = 0; p < P; p++) {
        const o = (i * P + p) * L.dim; let s = 0;
        for (let c = 0; c < L.dim; c++) s += L.q[o + c] * L.q[base + c];
        m[p] = s / (L.norms[i * P + p] * L.norms[qi]);
      }
      maps.push(m);
    }
    return maps;
  }
  function colourIndex(v) {
    const lo = parseFloat($('vmin').value), t = Math.min(1, Math.max(0, (v - lo) / (1 - lo)));
    return Math.round(t * 255);
  }
  function paintMap(i, map, L) {
    const c = $('map-' + i); c.width = L.w; c.height = L.h;
    const ctx = c.getContext('2d'), px = ctx.createImageData(L.w, L.h);
    for (let p = 0; p < map.length; p++) {
      const k = colourIndex(map[p]) * 3;
      px.data[4 * p] = D.lut[k]; px.data[4 * p + 1] = D.lut[k + 1]; px.data[4 * p + 2] = D.lut[k + 2];
      px.data[4 * p + 3] = 255;
    }
    ctx.putImageData(px, 0, 0);
  }
  function draw() {
    const L = layers[state.layer], alpha = parseFloat($('alpha').value);
    D.images.forEach((im, i) => {
      const fig = $('fig-' + i);
      fig.style.display = (state.show === 'all' || state.show === String(i)) ? '' : 'none';
      const v = $('view-' + i), ctx = v.getContext('2d');
      ctx.globalAlpha = 1; ctx.filter = viewer.lastMap ? 'grayscale(1)' : 'none';
      ctx.drawImage(imgs[i], 0, 0, v.width, v.height); ctx.filter = 'none';
      if (!viewer.lastMap) return;
      ctx.globalAlpha = alpha; ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = 'high';
      ctx.drawImage($('map-' + i), 0, 0, v.width, v.height);
      if (i === state.query.image) {
        const pw = v.width / L.w, ph = v.height / L.h, x = state.query.col * pw, y = state.query.row * ph;
        const cx = x + pw / 2, cy = y + ph / 2, arm = Math.max(pw, ph) * 1.5;
        ctx.globalAlpha = 1;
        for (const [colour, width] of [['#000', 4], ['#fff', 2]]) {  // box + crosshair, visible on any colour
          ctx.lineWidth = width; ctx.strokeStyle = colour;
          ctx.strokeRect(x, y, pw, ph);
          ctx.beginPath();
          ctx.moveTo(cx - arm - pw / 2, cy); ctx.lineTo(x, cy); ctx.moveTo(x + pw, cy); ctx.lineTo(cx + arm + pw / 2, cy);
          ctx.moveTo(cx, cy - arm - ph / 2); ctx.lineTo(cx, y); ctx.moveTo(cx, y + ph); ctx.lineTo(cx, cy + arm + ph / 2);
          ctx.stroke();
        }
      }
    });
  }
  viewer.select = function (image, row, col) {
    const L = layers[state.layer];
    if (!(image >= 0 && image < D.images.length && row >= 0 && row < L.h && col >= 0 && col < L.w))
      throw new Error('patch outside the grid');
    state.query = {image: image, row: row, col: col};
    const maps = similarity(L, image, row, col);
    maps.forEach((m, i) => paintMap(i, m, L));
    viewer.lastMap = {layer: L.id, image: image, row: row, col: col, h: L.h, w: L.w, maps: maps};
    $('status').textContent = `layer ${L.id}: query ${D.images[image].name} patch (row ${row}, col ${col})`;
    draw();
    return viewer.lastMap;
  };
  viewer.setLayer = function (id) {
    state.layer = Number(id); $('layer').value = String(id);
    if (state.query) {
      const L = layers[state.layer];
      viewer.select(state.query.image, Math.min(state.query.row, L.h - 1), Math.min(state.query.col, L.w - 1));
    } else draw();
  };
  function patchAt(i, ev) {
    const v = $('view-' + i), r = v.getBoundingClientRect(), L = layers[state.layer];
    const x = (ev.clientX - r.left) / r.width, y = (ev.clientY - r.top) / r.height;
    return [Math.min(L.h - 1, Math.max(0, Math.floor(y * L.h))), Math.min(L.w - 1, Math.max(0, Math.floor(x * L.w)))];
  }
  function build() {
    for (const L of D.layers) $('layer').add(new Option('layer ' + L.id, String(L.id)));
    $('layer').value = String(state.layer);
    $('show').add(new Option('all images', 'all'));
    D.images.forEach((im, i) => $('show').add(new Option(im.name + ' only', String(i))));
    D.images.forEach((im, i) => {
      const fig = document.createElement('figure'); fig.id = 'fig-' + i;
      fig.innerHTML = `<canvas class="view" id="view-${i}" width="${im.width}" height="${im.height}"
        style="width:${im.width}px;height:${im.height}px"></canvas><canvas class="map" id="map-${i}"></canvas>
        <figcaption></figcaption>`;
      fig.querySelector('figcaption').textContent = im.name;  // names are text, never markup
      $('grid').appendChild(fig);
      const v = fig.querySelector('canvas.view');
      v.addEventListener('mousemove', (ev) => { if ($('hover').checked) viewer.select(i, ...patchAt(i, ev)); });
      v.addEventListener('click', (ev) => { $('hover').checked = false; viewer.select(i, ...patchAt(i, ev)); });
    });
    $('layer').addEventListener('change', (ev) => viewer.setLayer(ev.target.value));
    $('show').addEventListener('change', (ev) => { state.show = ev.target.value; draw(); });
    $('alpha').addEventListener('input', draw);
    $('vmin').addEventListener('input', () => {
      $('lo').textContent = $('vmin').value;
      if (state.query) viewer.select(state.query.image, state.query.row, state.query.col);
    });
    const bar = $('bar').getContext('2d'), px = bar.createImageData(256, 1);
    for (let k = 0; k < 256; k++) { for (let c = 0; c < 3; c++) px.data[4 * k + c] = D.lut[3 * k + c]; px.data[4 * k + 3] = 255; }
    bar.putImageData(px, 0, 0);
  }
  build();
  Promise.all(imgs.map((e) => e.decode())).then(() => {  // a first map at once: the initial query patch
    const L = layers[state.layer], q = D.initial;
    viewer.select(q.image, Math.min(q.row, L.h - 1), Math.min(q.col, L.w - 1));
    viewer.ready = true;
  });
})();
</script></body></html>
'''
