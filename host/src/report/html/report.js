// Joule's HTML report: draws the findings table, flame graphs, series charts and patches from
// the JSON in #joule-data. Every string from the report goes into the page as text, never as
// markup.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('joule-data').textContent);
  var report = data.report;
  var findings = report.findings;
  // Maps keyed by text from the report or the address bar: no inherited keys (`constructor`).
  var byId = Object.create(null);
  findings.forEach(function (f, i) { f._rank = i + 1; byId[f.id] = f; });
  var states = Object.create(null);
  if (report.baseline) {
    report.baseline.new.forEach(function (id) { states[id] = 'new'; });
    report.baseline.unchanged.forEach(function (id) { states[id] = 'unchanged'; });
  }

  // ---- helpers -------------------------------------------------------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') node.textContent = attrs[k];
        else if (k === 'cls') node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null) continue;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }
  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function pct(x) { return (x * 100).toFixed(x >= 0.1 ? 1 : 2) + '%'; }
  function num(x) {
    if (x == null || !isFinite(x)) return '';
    var a = Math.abs(x);
    if (a >= 1e9) return (x / 1e9).toFixed(2) + 'G';
    if (a >= 1e6) return (x / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return (x / 1e3).toFixed(1) + 'k';
    if (a >= 100 || a === 0) return String(Math.round(x));
    return x.toPrecision(3);
  }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  // A skill's Markdown message as text: fenced blocks as preformatted code, `code` spans as
  // code and **bold** as bold; everything else as written.
  function markdown(text) {
    var box = el('div', { cls: 'message' });
    var parts = text.split(/^```[^\n]*\n?/m);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) { box.appendChild(el('pre', { text: part.replace(/\n$/, '') })); return; }
      part.split(/(`[^`\n]+`|\*\*[^*\n]+\*\*)/).forEach(function (bit) {
        if (/^`[^`]+`$/.test(bit)) box.appendChild(el('code', { text: bit.slice(1, -1) }));
        else if (/^\*\*[^*]+\*\*$/.test(bit)) box.appendChild(el('strong', { text: bit.slice(2, -2) }));
        else if (bit) box.appendChild(document.createTextNode(bit));
      });
    });
    return box;
  }
  function share(f) { return f.impact && f.impact.sample_share != null ? f.impact.sample_share : null; }
  function functionsOf(f) {
    var out = [];
    (f.locations || []).forEach(function (l) { if (l.function && out.indexOf(l.function) < 0) out.push(l.function); });
    return out;
  }
  var tooltip = document.getElementById('tooltip');
  function showTip(ev, text) {
    tooltip.textContent = text;
    tooltip.hidden = false;
    var x = Math.min(ev.clientX + 12, window.innerWidth - tooltip.offsetWidth - 8);
    tooltip.style.left = Math.max(0, x) + 'px';
    tooltip.style.top = (ev.clientY + 14) + 'px';
  }
  function hideTip() { tooltip.hidden = true; }

  // ---- header ----------------------------------------------------------------------------
  var counts = {};
  findings.forEach(function (f) { counts[f.kind] = (counts[f.kind] || 0) + 1; });
  var parts = Object.keys(counts).sort().map(function (k) { return counts[k] + ' ' + k; });
  var inputs = report.inputs || {};
  var summary = plural(findings.length, 'finding', 'findings') + (parts.length ? ' (' + parts.join(', ') + ')' : '') +
    ' from ' + plural(report.runs.length, 'skill run', 'skill runs') + ' over ' +
    plural((inputs.profiles || []).length, 'profile', 'profiles') + ', ' +
    plural((inputs.sources || []).length, 'source tree', 'source trees') + ' and ' +
    plural((inputs.metrics || []).length, 'metric set', 'metric sets') +
    (report.tool ? ', by ' + report.tool.name + ' ' + report.tool.version : '') + '.';
  if (report.baseline) {
    summary += ' Against ' + report.baseline.file + ': ' + report.baseline.new.length + ' new, ' +
      report.baseline.unchanged.length + ' unchanged, ' + report.baseline.gone.length + ' gone.';
  }
  document.getElementById('summary').textContent = summary;
  var notes = document.getElementById('notes');
  data.notes.forEach(function (n) { notes.appendChild(el('li', { text: n })); });

  // ---- findings table ----------------------------------------------------------------------
  var tbody = document.querySelector('#findings-table tbody');
  var kindSel = document.getElementById('filter-kind');
  var skillSel = document.getElementById('filter-skill');
  var textIn = document.getElementById('filter-text');
  function options(select, values) {
    values.forEach(function (v) { select.appendChild(el('option', { value: v, text: v })); });
  }
  function distinct(key) {
    var seen = {};
    findings.forEach(function (f) { seen[f[key]] = true; });
    return Object.keys(seen).sort();
  }
  options(kindSel, distinct('kind'));
  options(skillSel, distinct('skill'));
  var sortKey = 'rank', sortDir = 1, open = Object.create(null);
  var keys = {
    rank: function (f) { return f._rank; },
    kind: function (f) { return f.kind; },
    skill: function (f) { return f.skill; },
    title: function (f) { return f.title; },
    share: function (f) { var s = share(f); return s == null ? -1 : s; },
    saving: function (f) { return f.saving ? f.saving.watts : -1; },
    confidence: function (f) { return f.confidence; },
    state: function (f) { return states[f.id] || ''; }
  };
  function visible(f) {
    if (kindSel.value && f.kind !== kindSel.value) return false;
    if (skillSel.value && f.skill !== skillSel.value) return false;
    var q = textIn.value.trim().toLowerCase();
    return !q || f.title.toLowerCase().indexOf(q) >= 0;
  }
  function renderTable() {
    var rows = findings.filter(visible);
    var key = keys[sortKey];
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return c * sortDir || a._rank - b._rank;
    });
    tbody.textContent = '';
    rows.forEach(function (f) {
      var s = share(f);
      var tr = el('tr', { cls: 'finding', id: 'finding-' + f.id, 'data-id': f.id },
        el('td', { cls: 'num', text: String(f._rank) }),
        el('td', null, el('span', { cls: 'kind kind-' + f.kind, text: f.kind })),
        el('td', { text: f.skill }),
        el('td', { text: f.title }),
        el('td', { cls: 'num', text: s == null ? '' : pct(s) }),
        el('td', { cls: 'num', text: f.saving ? num(f.saving.watts) + ' W' : '' }),
        el('td', { cls: 'num', text: f.confidence.toFixed(2) }),
        el('td', { cls: states[f.id] ? 'state-' + states[f.id] : '', text: states[f.id] || '' }));
      tr.addEventListener('click', function () { toggle(f.id); });
      tbody.appendChild(tr);
      if (open[f.id]) tbody.appendChild(details(f));
    });
    document.getElementById('shown').textContent = rows.length + ' of ' + findings.length + ' shown';
    document.querySelectorAll('#findings-table th').forEach(function (th) {
      th.classList.remove('sorted-asc', 'sorted-desc');
      if (th.dataset.key === sortKey) th.classList.add(sortDir > 0 ? 'sorted-asc' : 'sorted-desc');
    });
  }
  document.querySelectorAll('#findings-table th').forEach(function (th) {
    th.addEventListener('click', function () {
      var k = th.dataset.key;
      if (k === sortKey) sortDir = -sortDir;
      else { sortKey = k; sortDir = (k === 'rank' || k === 'kind' || k === 'skill' || k === 'title' || k === 'state') ? 1 : -1; }
      renderTable();
    });
  });
  [kindSel, skillSel].forEach(function (s) { s.addEventListener('change', renderTable); });
  textIn.addEventListener('input', renderTable);

  function toggle(id) {
    open[id] = !open[id];
    renderTable();
  }
  function diffBlock(text) {
    var pre = el('pre', { cls: 'diff' });
    text.split('\n').forEach(function (line) {
      var cls = line.indexOf('+++') === 0 || line.indexOf('---') === 0 || line.indexOf('diff ') === 0 ||
        line.indexOf('index ') === 0 ? 'meta' : line[0] === '+' ? 'add' : line[0] === '-' ? 'del' :
        line.indexOf('@@') === 0 ? 'hunk' : '';
      pre.appendChild(el('span', cls ? { cls: cls, text: line + '\n' } : { text: line + '\n' }));
    });
    return pre;
  }
  function codeBlock(s) {
    var pre = el('pre', { cls: 'code' });
    s.lines.forEach(function (line, i) {
      var n = s.first + i;
      var marked = n >= s.mark[0] && n <= s.mark[1];
      pre.appendChild(el('span', { cls: 'line' + (marked ? ' marked' : ''), 'data-line': String(n) },
        el('span', { cls: 'ln', text: String(n) }), line));
    });
    return pre;
  }
  function details(f) {
    var cell = el('td', { colspan: '8' });
    var td = el('div', { cls: 'detail-body' });
    cell.appendChild(td);
    td.appendChild(markdown(f.message));
    var links = el('div', { cls: 'links' });
    functionsOf(f).forEach(function (name) {
      var n = flames.reduce(function (a, g) { return a + g.count(name); }, 0);
      var b = el('button', { type: 'button', cls: 'show-frames', text: 'Show ' + name + ' in the flame graphs (' + n + ' frames)' });
      if (!n) b.disabled = true;
      b.addEventListener('click', function (ev) { ev.stopPropagation(); showFrames(name); });
      links.appendChild(b);
    });
    if (data.charts[f.id]) {
      var a = el('a', { href: '#chart-' + f.id, text: 'Series chart' });
      a.addEventListener('click', function (ev) { ev.stopPropagation(); });
      links.appendChild(a);
    }
    if (links.childNodes.length) td.appendChild(links);
    (f.locations || []).forEach(function (l) {
      if (!l.file) return;
      var where = (l.tree ? l.tree + ':' : '') + l.file + (l.lines ? ':' + l.lines.start + '-' + l.lines.end : '');
      td.appendChild(el('div', { cls: 'mono', text: where }));
    });
    (data.sources[f.id] || []).forEach(function (s) { td.appendChild(codeBlock(s)); });
    if (f.evidence && f.evidence.length) {
      var t = el('table', { cls: 'evidence' });
      f.evidence.forEach(function (m) {
        t.appendChild(el('tr', null, el('td', { text: m.name }), el('td', { cls: 'num', text: num(m.value) }), el('td', { text: m.unit })));
      });
      td.appendChild(t);
    }
    if (f.patch) td.appendChild(diffBlock(f.patch));
    else if (f.patch_error) td.appendChild(el('p', { cls: 'note', text: 'No patch: ' + f.patch_error }));
    td.appendChild(el('p', { cls: 'note mono', text: 'id ' + f.id + ' · rule ' + f.rule }));
    cell.addEventListener('click', function (ev) { ev.stopPropagation(); });
    return el('tr', { cls: 'details', 'data-id': f.id }, cell);
  }
  function openFinding(id) {
    var f = byId[id];
    if (!f) return;
    if (!visible(f)) { kindSel.value = ''; skillSel.value = ''; textIn.value = ''; }
    open[id] = true;
    renderTable();
    document.querySelectorAll('tr.finding.selected').forEach(function (r) { r.classList.remove('selected'); });
    var row = document.getElementById('finding-' + id);
    if (!row) return;
    row.classList.add('selected');
    row.scrollIntoView({ block: 'center' });
  }

  var gone = report.baseline ? report.baseline.gone : [];
  if (gone.length) {
    var box = document.getElementById('gone');
    box.appendChild(el('h3', { text: 'Gone since ' + report.baseline.file + ' (' + gone.length + ')' }));
    var ul = el('ul');
    gone.forEach(function (g) { ul.appendChild(el('li', { text: g.kind + ' · ' + g.skill + ' · ' + g.title + ' (' + g.id + ')' })); });
    box.appendChild(ul);
  }

  // ---- flame graphs -------------------------------------------------------------------------
  // Browsers refuse a canvas past 32,767 device pixels: a deeper graph is cut at that depth.
  var ROW = 17;
  function maxHeight() { return Math.floor(32767 / (window.devicePixelRatio || 1)); }
  function hue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h;
  }
  function Flame(g, index) {
    var self = this;
    this.g = g;
    this.index = index;
    var n = g.frames.length / g.stride;
    this.n = n;
    this.name = new Int32Array(n);
    this.depth = new Int32Array(n);
    this.value = new Float64Array(n);
    this.base = g.stride > 3 ? new Float64Array(n) : null;
    this.x = new Float64Array(n);
    this.end = new Int32Array(n); // one past the last frame of the subtree
    this.parent = new Int32Array(n);
    var cursor = [0], stack = [];
    var maxDepth = 0;
    for (var i = 0; i < n; i++) {
      var o = i * g.stride;
      this.name[i] = g.frames[o];
      var d = g.frames[o + 1];
      this.depth[i] = d;
      this.value[i] = g.frames[o + 2];
      if (this.base) this.base[i] = g.frames[o + 3];
      while (stack.length && this.depth[stack[stack.length - 1]] >= d) this.end[stack.pop()] = i;
      this.parent[i] = stack.length ? stack[stack.length - 1] : -1;
      var x = cursor[d] || 0;
      this.x[i] = x;
      cursor[d] = x + this.value[i];
      cursor[d + 1] = x;
      stack.push(i);
      if (d > maxDepth) maxDepth = d;
    }
    while (stack.length) this.end[stack.pop()] = n;
    this.maxDepth = maxDepth;
    this.zoom = 0;
    this.matched = null;
    this.highlighted = null;
    this.hover = -1;

    var box = el('div', { cls: 'flame', id: 'flame-' + index, 'data-zoom': 'all', 'data-highlighted': '0' });
    var title = g.base ? 'Differential: ' + g.title + ' (red grew, blue shrank; widths are the later profile\'s)' : g.title;
    box.appendChild(el('h3', { text: title }));
    var mergedNote = g.merged ? ' · ' + g.merged + ' narrow frames merged into their callers' : '';
    box.appendChild(el('p', { cls: 'note', text: g.unit + ' · total ' + num(g.total) + (g.base ? ' (base ' + num(g.base_total) + ')' : '') + ' · ' + n + ' frames' + mergedNote }));
    var tools = el('div', { cls: 'flame-tools' });
    this.search = el('input', { type: 'search', placeholder: 'search functions (regular expression)', cls: 'flame-search' });
    this.matchOut = el('span', { cls: 'matched' });
    var reset = el('button', { type: 'button', cls: 'flame-reset', text: 'Reset zoom' });
    tools.appendChild(this.search);
    tools.appendChild(this.matchOut);
    tools.appendChild(reset);
    box.appendChild(tools);
    this.canvas = el('canvas', { height: String(Math.min((maxDepth + 1) * ROW, maxHeight())) });
    box.appendChild(this.canvas);
    this.info = el('div', { cls: 'flame-info' });
    box.appendChild(this.info);
    this.box = box;

    this.search.addEventListener('input', function () { self.find(self.search.value); });
    reset.addEventListener('click', function () { self.zoomTo(0); });
    this.canvas.addEventListener('mousemove', function (ev) {
      var i = self.at(ev);
      self.hover = i;
      if (i < 0) { hideTip(); return; }
      showTip(ev, self.describe(i));
    });
    this.canvas.addEventListener('mouseleave', hideTip);
    this.canvas.addEventListener('click', function (ev) {
      var i = self.at(ev);
      if (i >= 0) { self.zoomTo(i); self.select(i); }
    });
  }
  Flame.prototype.label = function (i) { return this.g.names[this.name[i]]; };
  Flame.prototype.count = function (name) {
    var c = 0;
    for (var i = 0; i < this.n; i++) if (this.label(i) === name) c++;
    return c;
  };
  Flame.prototype.describe = function (i) {
    var g = this.g;
    var s = this.label(i) + '\n' + num(this.value[i]) + ' ' + g.unit + ' (' + pct(this.value[i] / (g.total || 1)) + ')';
    if (this.base) {
      var b = this.base[i];
      var d = this.value[i] / (g.total || 1) - b / (g.base_total || 1);
      s += '\nbase ' + num(b) + ' (' + pct(b / (g.base_total || 1)) + '), share ' + (d >= 0 ? '+' : '') + pct(d);
    }
    return s;
  };
  // The visible range: the zoomed frame's own.
  Flame.prototype.range = function () { return [this.x[this.zoom], this.value[this.zoom] || 1]; };
  // Pre-order: `a` is an ancestor of `i` when `i` lies within `a`'s subtree.
  Flame.prototype.isAncestor = function (a, i) { return a < i && i < this.end[a]; };
  // Where frame `i` is drawn, in CSS pixels, or null when it is not.
  Flame.prototype.rect = function (i) {
    var w = this.canvas.clientWidth;
    var r = this.range();
    var x0, x1;
    if (i === this.zoom || this.isAncestor(i, this.zoom)) { x0 = 0; x1 = w; }
    else if (this.isAncestor(this.zoom, i)) {
      x0 = (this.x[i] - r[0]) / r[1] * w;
      x1 = (this.x[i] + this.value[i] - r[0]) / r[1] * w;
    } else return null;
    return { x: x0, y: this.depth[i] * ROW, w: x1 - x0, h: ROW - 1 };
  };
  Flame.prototype.draw = function () {
    var c = this.canvas, dpr = window.devicePixelRatio || 1;
    var w = c.clientWidth || 1000, h = Math.min((this.maxDepth + 1) * ROW, maxHeight());
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.height = h + 'px';
    var ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    ctx.textBaseline = 'middle';
    var r = this.range(), scale = w / r[1];
    var g = this.g;
    var i = 0;
    while (i < this.n) {
      var onPath = i === this.zoom || this.isAncestor(i, this.zoom);
      var x0, width;
      if (onPath) { x0 = 0; width = w; }
      else if (this.isAncestor(this.zoom, i)) {
        x0 = (this.x[i] - r[0]) * scale;
        width = this.value[i] * scale;
      } else { i = this.end[i]; continue; }
      if (width < 0.4) { i = this.end[i]; continue; }
      var y = this.depth[i] * ROW;
      var name = this.label(i);
      var fill;
      if (this.highlighted && this.highlighted[i]) fill = '#1a73e8';
      else if (this.matched && this.matched[i]) fill = '#e040a0';
      else if (this.base) {
        var d = this.value[i] / (g.total || 1) - this.base[i] / (g.base_total || 1);
        var t = Math.min(1, Math.abs(d) * 20);
        var k = Math.round(255 - 150 * t);
        fill = d > 0 ? 'rgb(255,' + k + ',' + k + ')' : d < 0 ? 'rgb(' + k + ',' + k + ',255)' : 'rgb(235,235,235)';
      } else {
        var hh = hue(name);
        fill = 'hsl(' + (10 + hh % 45) + ',' + (70 + (hh >> 8) % 25) + '%,' + (58 + (hh >> 16) % 12) + '%)';
      }
      ctx.fillStyle = fill;
      ctx.fillRect(x0, y, Math.max(width - 0.5, 0.4), ROW - 1);
      if (width > 28) {
        ctx.fillStyle = this.highlighted && this.highlighted[i] ? '#fff' : '#111';
        var room = Math.floor((width - 6) / 6.6);
        var text = name.length > room ? name.slice(0, Math.max(room - 1, 0)) + '\u2026' : name;
        ctx.fillText(text, x0 + 3, y + ROW / 2);
      }
      i++;
    }
    this.box.dataset.zoom = this.label(this.zoom);
  };
  Flame.prototype.at = function (ev) {
    var b = this.canvas.getBoundingClientRect();
    var x = ev.clientX - b.left - this.canvas.clientLeft, y = ev.clientY - b.top - this.canvas.clientTop;
    var depth = Math.floor(y / ROW);
    for (var i = 0; i < this.n; i++) {
      if (this.depth[i] !== depth) continue;
      var r = this.rect(i);
      if (r && x >= r.x && x < r.x + r.w) return i;
    }
    return -1;
  };
  Flame.prototype.zoomTo = function (i) { this.zoom = i; this.draw(); };
  Flame.prototype.find = function (query) {
    this.matched = null;
    this.matchOut.textContent = '';
    this.box.dataset.matched = '';
    if (!query) { this.draw(); return; }
    var re;
    try { re = new RegExp(query, 'i'); } catch (e) { this.matchOut.textContent = 'not a regular expression'; return; }
    var m = new Uint8Array(this.n), total = 0, frames = 0;
    for (var i = 0; i < this.n; i++) {
      if (!re.test(this.label(i))) continue;
      m[i] = 1;
      frames++;
      // Counted once: a match under a matched caller is already in the caller's width.
      var counted = false;
      for (var p = this.parent[i]; p >= 0; p = this.parent[p]) if (m[p]) { counted = true; break; }
      if (!counted) total += this.value[i];
    }
    this.matched = m;
    var share = total / (this.g.total || 1);
    this.matchOut.textContent = 'Matched: ' + pct(share) + ' (' + frames + ' frames)';
    this.box.dataset.matched = share.toFixed(6);
    this.draw();
  };
  Flame.prototype.highlight = function (name) {
    var h = new Uint8Array(this.n), c = 0;
    for (var i = 0; i < this.n; i++) if (this.label(i) === name) { h[i] = 1; c++; }
    this.highlighted = c ? h : null;
    this.box.dataset.highlighted = String(c);
    this.box.dataset.highlightedName = c ? name : '';
    this.draw();
    return c;
  };
  // The frame's details below the graph, with the findings that name its function.
  Flame.prototype.select = function (i) {
    var name = this.label(i);
    this.info.textContent = '';
    this.info.appendChild(el('div', { cls: 'mono', text: this.describe(i).replace(/\n/g, ' · ') }));
    var named = findings.filter(function (f) { return functionsOf(f).indexOf(name) >= 0; });
    var line = el('div', { cls: 'frame-findings' });
    line.appendChild(document.createTextNode(named.length ? 'Findings on this function: ' : 'No finding names this function.'));
    named.forEach(function (f) {
      var a = el('a', { href: '#finding-' + f.id, 'data-id': f.id, text: '#' + f._rank + ' ' + f.title });
      a.addEventListener('click', function (ev) { ev.preventDefault(); openFinding(f.id); });
      line.appendChild(a);
    });
    this.info.appendChild(line);
  };
  // The widest frame named `name`, or -1.
  Flame.prototype.widest = function (name) {
    var best = -1;
    for (var i = 0; i < this.n; i++) if (this.label(i) === name && (best < 0 || this.value[i] > this.value[best])) best = i;
    return best;
  };

  var flames = [];
  var flameSection = document.getElementById('flames');
  if (!data.flames.length) flameSection.appendChild(el('p', { cls: 'note', text: 'No profile in this report.' }));
  data.flames.forEach(function (g, i) {
    var f = new Flame(g, i);
    flames.push(f);
    flameSection.appendChild(f.box);
  });
  function showFrames(name) {
    var first = null;
    flames.forEach(function (f) {
      f.zoomTo(0);
      if (f.highlight(name) && !first) first = f;
    });
    if (first) {
      first.select(first.widest(name));
      first.box.scrollIntoView({ block: 'start' });
    }
  }

  // ---- series charts ------------------------------------------------------------------------
  var regSection = document.getElementById('regressions');
  var charted = findings.filter(function (f) { return data.charts[f.id]; });
  if (!charted.length) regSection.appendChild(el('p', { cls: 'note', text: 'No regression series in this report.' }));
  function timeText(c, t) { return c.dates ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : String(t); }
  charted.forEach(function (f) {
    var c = data.charts[f.id];
    var W = 960, H = 260, L = 64, R = 12, T = 14, B = 34;
    var box = el('div', { cls: 'chart', id: 'chart-' + f.id });
    var head = el('h3');
    var a = el('a', { href: '#finding-' + f.id, text: '#' + f._rank + ' ' + f.title });
    a.addEventListener('click', function (ev) { ev.preventDefault(); openFinding(f.id); });
    head.appendChild(a);
    box.appendChild(head);
    box.appendChild(el('p', { cls: 'note', text: c.set + ' · ' + c.series + (c.step > 1 ? ' · every ' + c.step + 'th point drawn' : '') }));
    var vals = c.values.filter(function (v) { return v != null && isFinite(v); });
    [c.before, c.after].forEach(function (v) { if (v != null) vals.push(v); });
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (!(hi > lo)) { hi = lo + 1; }
    var pad = (hi - lo) * 0.06; lo -= pad; hi += pad;
    var t0 = c.times[0], t1 = c.times[c.times.length - 1];
    if (!(t1 > t0)) t1 = t0 + 1;
    function X(t) { return L + (t - t0) / (t1 - t0) * (W - L - R); }
    function Y(v) { return T + (hi - v) / (hi - lo) * (H - T - B); }
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    s.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999' }));
    s.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#999' }));
    [[hi - pad, 'hi'], [lo + pad, 'lo']].forEach(function (p) {
      var tx = svg('text', { x: L - 4, y: Y(p[0]) + 4, 'text-anchor': 'end' });
      tx.textContent = num(p[0]);
      s.appendChild(tx);
    });
    [[t0, 'start'], [t1, 'end']].forEach(function (p) {
      var tx = svg('text', { x: X(p[0]), y: H - 12, 'text-anchor': p[1] === 'start' ? 'start' : 'end' });
      tx.textContent = timeText(c, p[0]);
      s.appendChild(tx);
    });
    c.deploys.forEach(function (d) {
      var ln = svg('line', { 'class': 'deploy', x1: X(d.t), x2: X(d.t), y1: T, y2: H - B });
      var tt = svg('title', {});
      tt.textContent = 'deployed ' + d.commit.slice(0, 12) + ' ' + d.summary + ' at ' + timeText(c, d.t) + ' (' + d.repository + ')';
      ln.appendChild(tt);
      s.appendChild(ln);
    });
    var pts = [];
    c.values.forEach(function (v, i) { if (v != null && isFinite(v)) pts.push(X(c.times[i]).toFixed(1) + ',' + Y(v).toFixed(1)); });
    s.appendChild(svg('polyline', { 'class': 'series', points: pts.join(' ') }));
    if (c.change != null) {
      var tc = c.times[c.change];
      var cl = svg('line', { 'class': 'change-point', x1: X(tc), x2: X(tc), y1: T, y2: H - B });
      var ct = svg('title', {});
      ct.textContent = 'change point at ' + timeText(c, tc);
      cl.appendChild(ct);
      s.appendChild(cl);
      if (c.before != null) s.appendChild(svg('line', { 'class': 'level-before', x1: X(t0), x2: X(tc), y1: Y(c.before), y2: Y(c.before) }));
      if (c.after != null) s.appendChild(svg('line', { 'class': 'level-after', x1: X(tc), x2: X(t1), y1: Y(c.after), y2: Y(c.after) }));
    }
    box.appendChild(s);
    var legend = 'change point ' + (c.change != null ? timeText(c, c.times[c.change]) : 'unknown') +
      (c.before != null ? ' · before ' + num(c.before) : '') + (c.after != null ? ' · after ' + num(c.after) : '') +
      ' · ' + c.deploys.length + ' deploys marked (dashed)';
    box.appendChild(el('p', { cls: 'note', text: legend }));
    regSection.appendChild(box);
  });

  // ---- patches -------------------------------------------------------------------------------
  var patchSection = document.getElementById('patches');
  var patched = findings.filter(function (f) { return f.patch; });
  if (!patched.length) patchSection.appendChild(el('p', { cls: 'note', text: 'No finding in this report carries a patch.' }));
  patched.forEach(function (f) {
    var d = el('details', { cls: 'patch', id: 'patch-' + f.id });
    var sum = el('summary');
    sum.appendChild(document.createTextNode('#' + f._rank + ' ' + f.title + ' '));
    var a = el('a', { href: '#finding-' + f.id, text: '(finding)' });
    a.addEventListener('click', function (ev) { ev.preventDefault(); openFinding(f.id); });
    sum.appendChild(a);
    d.appendChild(sum);
    d.appendChild(diffBlock(f.patch));
    patchSection.appendChild(d);
  });

  // ---- runs ----------------------------------------------------------------------------------
  var runs = document.querySelector('#runs-table tbody');
  report.runs.forEach(function (r) {
    runs.appendChild(el('tr', null,
      el('td', { text: r.skill }), el('td', { text: r.trigger }), el('td', { text: r.status }),
      el('td', { cls: 'num', text: String(r.findings) }), el('td', { cls: 'num', text: String(r.host_calls) }),
      el('td', { cls: 'num', text: r.duration_ms.toFixed(1) }),
      el('td', { text: r.error || r.warning || '' })));
  });

  renderTable();
  flames.forEach(function (f) { f.draw(); });
  var redraw = null;
  window.addEventListener('resize', function () {
    clearTimeout(redraw);
    redraw = setTimeout(function () { flames.forEach(function (f) { f.draw(); }); }, 100);
  });
  if (location.hash.indexOf('#finding-') === 0) openFinding(location.hash.slice(9));
  // For scripts driving the page (the browser test): the graphs and the way to a finding.
  window.joule = { flames: flames, openFinding: openFinding, showFrames: showFrames, readyAt: performance.now() };
  document.body.dataset.ready = '1';
})();
