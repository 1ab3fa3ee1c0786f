// The jetmem HTML report: builds every table and the timelines from the JSON
// in #jetmem-data with DOM calls (text only, never markup). No network.
"use strict";
(function () {
  const body = document.body;
  const errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    body.dataset.errors = String(errors.length);
  });
  const SVGNS = "http" + "://www.w3.org/2000/svg";
  const data = JSON.parse(document.getElementById("jetmem-data").textContent);
  const reports = data.reports;
  const timelines = data.timelines;
  const root = document.getElementById("report");
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    for (const c of children || []) {
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  // Binary units; a column takes the unit of its largest value.
  const UNITS = [["GiB", 1073741824], ["MiB", 1048576], ["KiB", 1024], ["B", 1]];
  function unitFor(values) {
    let m = 0;
    for (const v of values) if (typeof v === "number") m = Math.max(m, Math.abs(v));
    for (const u of UNITS) if (m >= u[1]) return u;
    return UNITS[1];
  }
  function inUnit(v, u, signed) {
    if (v === null || v === undefined) return "unknown";
    const x = v / u[1];
    const d = u[1] === 1 ? 0 : u[1] >= 1073741824 ? 2 : 1;
    const s = x.toFixed(d);
    return (signed && v > 0 ? "+" : "") + s + " " + u[0];
  }
  function bytes(v) { return inUnit(v, unitFor([v])); }
  function secs(s) {
    if (s === null || s === undefined) return "unknown";
    if (s >= 3600) return (s / 3600).toFixed(2) + " h";
    if (s >= 60) return (s / 60).toFixed(1) + " min";
    if (s >= 1) return s.toFixed(2) + " s";
    return (s * 1000).toFixed(1) + " ms";
  }

  // A table: columns {name, get(row), bytes?: true, num?: true}; byte
  // columns share one unit chosen from the column's largest value.
  function table(columns, rows) {
    const units = columns.map(function (c) {
      return c.bytes ? unitFor(rows.map(c.get)) : null;
    });
    const head = el("tr", {}, columns.map(function (c, i) {
      const label = units[i] ? c.name + " (" + units[i][0] + ")" : c.name;
      return el("th", { class: c.bytes || c.num ? "n" : "" }, [label]);
    }));
    const trs = rows.map(function (r) {
      return el("tr", {}, columns.map(function (c, i) {
        const v = c.get(r);
        let text;
        if (units[i]) text = v === null || v === undefined ? "unknown" : inUnit(v, units[i]).replace(/ \S+$/, "");
        else text = v === null || v === undefined ? "unknown" : String(v);
        return el("td", { class: c.bytes || c.num ? "n" : "" }, [text]);
      }));
    });
    return el("table", {}, [el("thead", {}, [head]), el("tbody", {}, trs)]);
  }

  function card(k, v, s) {
    return el("div", { class: "card" }, [el("div", { class: "k" }, [k]), el("div", { class: "v" }, [v]), s ? el("div", { class: "s" }, [s]) : null]);
  }

  function rule(r) {
    if (r.architecture === "unified")
      return "Unified memory: the CPU and GPU share one DRAM. System used (" + r.system.used_definition +
        ") is the figure; GPU memory is a subset of it and is never added.";
    if (r.architecture === "discrete")
      return "Discrete GPU: VRAM and RAM are separate, so the total is RAM used + VRAM used.";
    return "CPU only: system used (" + r.system.used_definition + ") is the figure.";
  }

  function budgetWords(h, tl) {
    if (h.budget_bytes === null) return "no budget";
    return bytes(h.budget_bytes) + " (" + tl.budget_words + ")";
  }

  function headline(r, tl) {
    const cards = el("div", { class: "cards" }, []);
    cards.appendChild(card(r.architecture === "discrete" ? "Peak RAM used" : "Peak system used", bytes(r.system.used_peak_bytes),
      r.system.used_peak_t_s === null ? null : "at " + secs(r.system.used_peak_t_s) + " of " + bytes(r.system.total_bytes) + " total"));
    // tegrastats and jtop count "used" another way: shown beside ours, never in its place.
    if (r.system.used_tegrastats_peak_bytes !== null && r.system.used_tegrastats_peak_bytes !== undefined)
      cards.appendChild(card("Peak used, tegrastats/jtop definition", bytes(r.system.used_tegrastats_peak_bytes),
        r.system.used_tegrastats_definition + ": counts all of Buffers and Cached as free; MemAvailable (ours) only what the kernel can reclaim"));
    if (r.tegrastats && r.tegrastats.ram_used_peak_bytes !== null)
      cards.appendChild(card("Peak RAM used, as tegrastats printed it", bytes(r.tegrastats.ram_used_peak_bytes),
        "imported from tegrastats (" + r.tegrastats.used_definition + "), whole MiB"));
    if (r.architecture === "unified")
      cards.appendChild(card("Peak GPU (inside system used)", bytes(r.gpu.used_peak_bytes), r.gpu.reason || "source: " + r.gpu.source));
    if (r.architecture === "discrete") {
      cards.appendChild(card("Peak VRAM", bytes(r.total_peak.vram_bytes), "source: " + r.gpu.source));
      cards.appendChild(card("Peak RAM + VRAM", bytes(r.total_peak_bytes), r.total_peak.t_s === null ? null : "at " + secs(r.total_peak.t_s)));
    }
    cards.appendChild(card("Peak process tree RSS", bytes(r.process.rss_peak_bytes), r.process.processes_peak === null ? null : "up to " + plural(r.process.processes_peak, "process", "processes")));
    if (r.cuda) cards.appendChild(card("CUDA allocator peak", bytes(r.cuda.alloc_peak_bytes), r.cuda.reserved_peak_bytes === null ? null : "reserved " + bytes(r.cuda.reserved_peak_bytes)));
    cards.appendChild(card("Minimum headroom", r.headroom.min_bytes === null ? "unknown" : inUnit(r.headroom.min_bytes, unitFor([r.headroom.min_bytes]), false),
      "budget " + budgetWords(r.headroom, tl) + (r.headroom.exceeded ? ": exceeded" : "")));
    cards.appendChild(card("Duration", secs(r.duration_s), plural(r.samples, "sample", "samples") + (r.dropped ? ", " + plural(r.dropped, "sample", "samples") + " dropped" : "")));
    return cards;
  }

  // ---- the timeline chart ----
  // spec: {series: [{name, color, dash, fill, t, v}], hlines: [{name, value, color, dash}], bands: [{x0, x1, label}]}
  function chart(spec) {
    const wrap = el("div", {}, []);
    const legend = el("div", { class: "legend" }, []);
    for (const s of spec.series) {
      const sw = el("span", { class: "sw", style: "border-top-color:" + s.color + (s.dash ? ";border-top-style:dashed" : "") }, []);
      legend.appendChild(el("span", {}, [sw, s.name]));
    }
    for (const h of spec.hlines) {
      const sw = el("span", { class: "sw", style: "border-top-color:" + h.color + ";border-top-style:dotted" }, []);
      legend.appendChild(el("span", {}, [sw, h.name + ": " + bytes(h.value)]));
    }
    if ((spec.marks || []).length) legend.appendChild(el("span", {}, [el("span", { class: "sw", style: "border-top: 3px solid #555; width: 3px" }, []), "marks: pressure and budget events (red/green), the program's marks (grey); hover a dot for its label"]));
        if (spec.bands.length) legend.appendChild(el("span", {}, [el("span", { class: "sw", style: "border-top: 10px solid #c7d2fe" }, []), "phases (shaded)"]));
    wrap.appendChild(legend);
    const box = el("div", { class: "chart" }, []);
    const s = svg("svg", { viewBox: "0 0 1200 380", preserveAspectRatio: "none", class: "timeline" });
    const tip = el("div", { class: "tip" }, []);
    box.appendChild(s);
    box.appendChild(tip);
    wrap.appendChild(box);
    wrap.appendChild(el("div", { class: "hint" }, ["Wheel to zoom, drag to pan, double-click to reset; hover for values."]));
    const W = 1200, H = 380, L = 80, R = 16, T = 12, B = 34;
    let tMax = 0;
    for (const x of spec.series) if (x.t.length) tMax = Math.max(tMax, x.t[x.t.length - 1]);
    if (tMax <= 0) tMax = 1;
    let view = [0, tMax];
    function draw() {
      while (s.firstChild) s.removeChild(s.firstChild);
      const [x0, x1] = view;
      // y fitted to what is visible (plus the lines that fall near it).
      let lo = Infinity, hi = -Infinity;
      for (const x of spec.series) for (let i = 0; i < x.t.length; i++) {
        const v = x.v[i];
        if (v === null || x.t[i] < x0 || x.t[i] > x1) continue;
        lo = Math.min(lo, v); hi = Math.max(hi, v);
      }
      if (!isFinite(lo)) { lo = 0; hi = 1; }
      for (const h of spec.hlines) if (h.value <= hi * 1.25 && h.value >= lo * 0.75) { lo = Math.min(lo, h.value); hi = Math.max(hi, h.value); }
      const pad = (hi - lo) * 0.06 || hi * 0.05 || 1;
      lo = Math.max(0, lo - pad); hi = hi + pad;
      const X = function (t) { return L + (t - x0) / (x1 - x0) * (W - L - R); };
      const Y = function (v) { return T + (1 - (v - lo) / (hi - lo)) * (H - T - B); };
      s.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "#fff", stroke: "#bbb" }));
      const clipId = "c" + Math.random().toString(36).slice(2);
      const clip = svg("clipPath", { id: clipId });
      clip.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B }));
      s.appendChild(clip);
      const g = svg("g", { "clip-path": "url(#" + clipId + ")" });
      s.appendChild(g);
      // phases: shaded, a label only where it fits and differs from the previous one
      let lastLabel = null, lastEnd = -Infinity;
      for (const b of spec.bands) {
        if (b.x1 < x0 || b.x0 > x1) continue;
        const r = svg("rect", { x: X(b.x0), y: T, width: Math.max(1, X(b.x1) - X(b.x0)), height: H - T - B, fill: "#c7d2fe", "fill-opacity": "0.35" });
        const title = svg("title", {}); title.textContent = b.label + ": " + secs(b.x0) + " to " + secs(b.x1);
        r.appendChild(title); g.appendChild(r);
        if (b.label !== lastLabel || X(b.x0) - lastEnd > 40) {
          if (X(b.x0) - lastEnd > 8 * b.label.length * 0.2) {
            const tx = svg("text", { x: Math.max(L + 2, X(b.x0)) + 2, y: T + 12, "font-size": "11", fill: "#3730a3" });
            tx.textContent = b.label; g.appendChild(tx);
            lastEnd = X(b.x0) + 7 * b.label.length;
          }
          lastLabel = b.label;
        }
      }
      // y grid and labels, in one unit for the axis, steps nice in that unit
      const u = unitFor([hi]);
      const step = niceStep((hi - lo) / u[1] / 6) * u[1];
      const yd = decimals(step / u[1]);
      for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
        s.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#eee" }));
        const tx = svg("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end", "font-size": "11", fill: "#444" });
        tx.textContent = (v / u[1]).toFixed(yd) + " " + u[0]; s.appendChild(tx);
      }
      const tstep = niceStep((x1 - x0) / 8);
      const td = decimals(tstep);
      for (let t = Math.ceil(x0 / tstep) * tstep; t <= x1; t += tstep) {
        s.appendChild(svg("line", { x1: X(t), x2: X(t), y1: H - B, y2: H - B + 4, stroke: "#444" }));
        const tx = svg("text", { x: X(t), y: H - B + 16, "text-anchor": "middle", "font-size": "11", fill: "#444" });
        tx.textContent = t.toFixed(td) + " s"; s.appendChild(tx);
      }
      const xl = svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", "font-size": "11", fill: "#666" });
      xl.textContent = "time since the start (s)"; s.appendChild(xl);
      for (const h of spec.hlines) {
        if (h.value < lo || h.value > hi) continue;
        g.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(h.value), y2: Y(h.value), stroke: h.color, "stroke-dasharray": "2 4", "stroke-width": "2" }));
      }
      for (const x of spec.series) {
        let d = "", pen = false;
        for (let i = 0; i < x.t.length; i++) {
          const v = x.v[i];
          if (v === null) { pen = false; continue; }
          d += (pen ? "L" : "M") + X(x.t[i]).toFixed(1) + " " + Y(v).toFixed(1);
          pen = true;
        }
        if (!d) continue;
        if (x.fillTo) {
          // the band between this series and the one under it (VRAM stacked on RAM)
          let back = "";
          for (let i = x.fillTo.t.length - 1; i >= 0; i--) if (x.fillTo.v[i] !== null) back += "L" + X(x.fillTo.t[i]).toFixed(1) + " " + Y(x.fillTo.v[i]).toFixed(1);
          g.appendChild(svg("path", { d: d + back + "Z", fill: x.color, "fill-opacity": "0.15", stroke: "none" }));
        } else if (x.fill) g.appendChild(svg("path", { d: d + "V" + Y(lo) + "H" + X(x.t[0]) + "Z", fill: x.color, "fill-opacity": "0.12", stroke: "none" }));
        g.appendChild(svg("path", { d: d, fill: "none", stroke: x.color, "stroke-width": "1.8", "stroke-dasharray": x.dash ? "6 4" : "none", class: "series" }));
      }
      for (const m of spec.marks || []) {
        if (m.t < x0 || m.t > x1) continue;
        g.appendChild(svg("line", { x1: X(m.t), x2: X(m.t), y1: T, y2: H - B, stroke: m.color, "stroke-width": "1", "stroke-opacity": "0.6", "stroke-dasharray": "3 3" }));
        const title = svg("title", {}); title.textContent = m.label;
        const c = svg("circle", { cx: X(m.t), cy: T + 4, r: 4, fill: m.color }); c.appendChild(title); g.appendChild(c);
      }
      const cursor = svg("line", { x1: 0, x2: 0, y1: T, y2: H - B, stroke: "#888", visibility: "hidden" });
      s.appendChild(cursor);
      s._map = { X: X, L: L, R: R, W: W, cursor: cursor };
    }
    function niceStep(raw) {
      if (!(raw > 0)) return 1;
      const p = Math.pow(10, Math.floor(Math.log10(raw)));
      return [1, 2, 5, 10].map(function (k) { return k * p; }).find(function (c) { return c >= raw; });
    }
    function decimals(step) { return Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))); }
    function tAt(ev) {
      const r = s.getBoundingClientRect();
      const px = (ev.clientX - r.left) / r.width * W;
      return view[0] + (px - L) / (W - L - R) * (view[1] - view[0]);
    }
    s.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      const t = tAt(ev), k = ev.deltaY < 0 ? 0.8 : 1.25;
      let a = t - (t - view[0]) * k, b = t + (view[1] - t) * k;
      if (b - a > tMax) { a = 0; b = tMax; }
      view = [Math.max(0, a), Math.min(tMax, b)];
      draw();
    }, { passive: false });
    let drag = null;
    s.addEventListener("mousedown", function (ev) { drag = { t: tAt(ev), v: view.slice() }; });
    window.addEventListener("mouseup", function () { drag = null; });
    s.addEventListener("dblclick", function () { view = [0, tMax]; draw(); });
    s.addEventListener("mousemove", function (ev) {
      const t = tAt(ev);
      if (drag) {
        const span = drag.v[1] - drag.v[0];
        let a = drag.v[0] - (t - drag.t); a = Math.max(0, Math.min(tMax - span, a));
        view = [a, a + span]; draw(); return;
      }
      const m = s._map;
      m.cursor.setAttribute("x1", m.X(t)); m.cursor.setAttribute("x2", m.X(t)); m.cursor.setAttribute("visibility", "visible");
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      tip.appendChild(el("div", {}, [el("b", {}, [secs(Math.max(0, t))])]));
      for (const x of spec.series) {
        const i = nearest(x.t, t);
        if (i < 0) continue;
        tip.appendChild(el("div", { style: "color:" + x.color }, [x.name + ": " + bytes(x.v[i])]));
      }
      for (const b of spec.bands) if (t >= b.x0 && t <= b.x1) tip.appendChild(el("div", {}, ["phase: " + b.label]));
      const r = box.getBoundingClientRect();
      const left = ev.clientX - r.left + 14;
      tip.style.left = (left > r.width - 240 ? left - 260 : left) + "px";
      tip.style.top = (ev.clientY - r.top + 10) + "px";
      tip.style.display = "block";
    });
    s.addEventListener("mouseleave", function () { tip.style.display = "none"; if (s._map) s._map.cursor.setAttribute("visibility", "hidden"); });
    function nearest(ts, t) {
      if (!ts.length) return -1;
      let a = 0, b = ts.length - 1;
      while (b - a > 1) { const m = (a + b) >> 1; if (ts[m] < t) a = m; else b = m; }
      return Math.abs(ts[a] - t) <= Math.abs(ts[b] - t) ? a : b;
    }
    draw();
    return wrap;
  }

  function has(line) { return line.bytes.length > 0; }
  function L(line) { return { t: line.t_s, v: line.bytes }; }
  function withLine(o, line) { const x = L(line); o.t = x.t; o.v = x.v; return o; }

  function oneTimeline(r, tl) {
    const series = [];
    const hlines = [];
    if (r.architecture === "discrete") {
      const ram = withLine({ name: "RAM used", color: PALETTE[0], fill: true }, tl.system_used);
      series.push(ram);
      if (has(tl.total_used)) series.push(withLine({ name: "RAM + VRAM (VRAM stacked on RAM: additive)", color: PALETTE[1], fillTo: ram }, tl.total_used));
      if (has(tl.vram_used)) series.push(withLine({ name: "VRAM used alone", color: PALETTE[4], dash: true }, tl.vram_used));
    } else {
      series.push(withLine({ name: "system used", color: PALETTE[0], fill: true }, tl.system_used));
      if (has(tl.gpu_used)) series.push(withLine({ name: "GPU used (subset of system used)", color: PALETTE[1], fill: true }, tl.gpu_used));
    }
    if (has(tl.rss)) series.push(withLine({ name: "process tree RSS", color: PALETTE[2], dash: true }, tl.rss));
    if (has(tl.cuda_used)) series.push(withLine({ name: "CUDA device used", color: PALETTE[3], dash: true }, tl.cuda_used));
    if (r.system.total_bytes !== null) hlines.push({ name: "MemTotal", value: r.system.total_bytes, color: "#444" });
    if (tl.pressure_used_bytes !== null) hlines.push({ name: (r.architecture === "discrete" ? "RAM " : "") + "pressure threshold (" + (tl.threshold_permille / 10) + " % available)", value: tl.pressure_used_bytes, color: "#CC79A7" });
    if (r.headroom.budget_bytes !== null) hlines.push({ name: "budget (" + tl.budget_words + ")", value: r.headroom.budget_bytes, color: "#E69F00" });
    const bands = r.phases.map(function (p) { return { x0: p.start_s, x1: p.end_s, label: p.label }; });
    const programMarks = tl.marks.map(function (m) { return { t: m.t_s, label: "mark " + m.label + " at " + secs(m.t_s), color: "#555" }; });
    const marks = r.pressure_events.map(function (e) { return { t: e.t_s, label: e.kind + " at " + secs(e.t_s) + ": " + bytes(e.value_bytes), color: e.kind.indexOf("left") >= 0 || e.kind.indexOf("recovered") >= 0 ? "#009E73" : "#D55E00" }; });
    const c = chart({ series: series, hlines: hlines, bands: bands, marks: marks.concat(programMarks) });
    if (tl.marks_not_kept) c.appendChild(el("div", { class: "hint" }, [plural(tl.marks_not_kept, "more mark is", "more marks are") + " in the trace but not drawn (the first " + tl.marks.length + " are)."]));
    if (tl.points_total > tl.system_used.t_s.length)
      c.appendChild(el("div", { class: "hint" }, [plural(tl.points_total, "sample", "samples") + " reduced to " + tl.system_used.t_s.length + " points per line (each slice's lowest and highest kept, so every peak is shown)."]));
    return c;
  }

  function kv(pairs) {
    return el("table", {}, [el("tbody", {}, pairs.filter(function (p) { return p[1] !== null && p[1] !== undefined; }).map(function (p) {
      return el("tr", {}, [el("th", {}, [p[0]]), el("td", {}, [String(p[1])])]);
    }))]);
  }

  function section(r, tl, titled, notEmbedded) {
    const sec = el("section", { class: "trace" }, []);
    if (titled) sec.appendChild(el("h2", {}, ["Trace: " + r.label]));
    sec.appendChild(el("p", { class: "muted" }, ["Command: ", el("code", {}, [r.command || "(attached)"]), r.exit_code === null ? "" : ", exit code " + r.exit_code]));
    sec.appendChild(el("p", { class: "rule" }, [rule(r)]));
    sec.appendChild(headline(r, tl));
    sec.appendChild(el("h3", {}, ["Timeline"]));
    sec.appendChild(oneTimeline(r, tl));
    if (notEmbedded) sec.appendChild(el("p", { class: "hint" }, ["The first " + plural(r.phases.length, "phase", "phases") + " are shaded; " + notEmbedded + " more are counted in the table below but not drawn."]));
    if (r.phase_summary.length) {
      sec.appendChild(el("h3", {}, ["Phases (one row per label)"]));
      sec.appendChild(table([
        { name: "label", get: function (p) { return p.label; } },
        { name: "count", num: true, get: function (p) { return p.count; } },
        { name: "mean", num: true, get: function (p) { return p.duration_mean_s === null ? null : secs(p.duration_mean_s); } },
        { name: "p95", num: true, get: function (p) { return p.duration_p95_s === null ? null : secs(p.duration_p95_s); } },
        { name: "max", num: true, get: function (p) { return p.duration_max_s === null ? null : secs(p.duration_max_s); } },
        { name: "peak system used", bytes: true, get: function (p) { return p.system_used_peak_bytes; } },
        { name: r.architecture === "discrete" ? "peak VRAM" : "peak GPU", bytes: true, get: function (p) { return p.gpu_used_peak_bytes; } },
        { name: "peak RSS", bytes: true, get: function (p) { return p.rss_peak_bytes; } },
        { name: "CUDA alloc peak", bytes: true, get: function (p) { return p.cuda_alloc_peak_bytes; } },
        { name: "unclosed", num: true, get: function (p) { return p.unclosed; } },
      ], r.phase_summary));
    }
    sec.appendChild(el("h3", {}, ["Pressure events"]));
    if (r.pressure_events.length) {
      sec.appendChild(table([
        { name: "time", num: true, get: function (e) { return secs(e.t_s); } },
        { name: "event", get: function (e) { return e.kind; } },
        { name: "value", bytes: true, get: function (e) { return e.value_bytes; } },
        { name: "threshold", bytes: true, get: function (e) { return e.threshold_bytes; } },
      ], r.pressure_events));
    } else sec.appendChild(el("p", { class: "muted" }, ["None recorded."]));
    sec.appendChild(el("h3", {}, ["Advice"]));
    if (r.advice.length) sec.appendChild(el("ul", {}, r.advice.map(function (a) { return el("li", {}, [el("code", {}, [a.code]), ": " + a.message]); })));
    else sec.appendChild(el("p", { class: "muted" }, ["No advice: the trace holds no evidence for any."]));
    if (r.process.top.length) {
      sec.appendChild(el("h3", {}, ["Processes (largest RSS)"]));
      sec.appendChild(table([
        { name: "pid", num: true, get: function (p) { return p.pid; } },
        { name: "name", get: function (p) { return p.name; } },
        { name: "peak RSS", bytes: true, get: function (p) { return p.rss_peak_bytes; } },
        { name: "high-water mark", bytes: true, get: function (p) { return p.hwm_bytes; } },
      ], r.process.top));
    }
    if (r.tracer) {
      const t = r.tracer;
      sec.appendChild(el("h3", {}, ["The tracer's own cost"]));
      sec.appendChild(kv(Object.keys(t).filter(function (k) { return typeof t[k] !== "object" || t[k] === null; }).map(function (k) {
        return [k.replace(/_/g, " "), t[k] === null ? "unknown" : t[k]];
      })));
    }
    sec.appendChild(el("h3", {}, ["Platform"]));
    const p = r.platform;
    sec.appendChild(kv([["architecture", r.architecture], ["model", p.model], ["SoC", p.soc], ["L4T", p.l4t], ["JetPack", p.jetpack],
      ["CUDA device", p.cuda_device], ["kernel", p.kernel], ["page size", p.page_size === null ? null : p.page_size + " B"],
      ["GPU source", r.gpu.source], ["samples", r.samples], ["dropped samples", r.dropped],
      ["damage", r.damage.clean_end && !r.damage.skipped_bytes && !r.damage.malformed_frames ? "none" : JSON.stringify(r.damage)]]));
    return sec;
  }

  function comparison() {
    const c = data.comparison;
    const base = c.rows[c.baseline];
    const sec = el("section", { id: "comparison" }, [el("h2", {}, ["Comparison (baseline: " + base.label + ")"])]);
    const metrics = [
      ["peak system used", "system_used_peak_bytes", "system_used_peak"],
      ["peak GPU / VRAM", "gpu_peak_bytes", "gpu_peak"],
      ["peak process tree RSS", "rss_peak_bytes", "rss_peak"],
      ["CUDA allocator peak", "cuda_alloc_peak_bytes", "cuda_alloc_peak"],
    ];
    const cols = [{ name: "trace", get: function (r) { return r.label; } }, { name: "architecture", get: function (r) { return r.architecture; } }];
    for (const m of metrics) {
      cols.push({ name: m[0], bytes: true, get: function (r) { return r[m[1]]; } });
      const du = unitFor(c.rows.map(function (r) { return r.delta && r.delta[m[2]] ? r.delta[m[2]].bytes : null; }));
      cols.push({ name: "Δ " + m[0] + " (" + du[0] + ")", num: true, get: function (r) {
        if (!r.delta) return "baseline";
        const d = r.delta[m[2]];
        if (!d) return null;
        return inUnit(d.bytes, du, true).replace(/ \S+$/, "") + (d.percent === null ? "" : " (" + (d.percent > 0 ? "+" : "") + d.percent.toFixed(1) + " %)");
      } });
    }
    cols.push({ name: "duration (s)", num: true, get: function (r) { return r.duration_s.toFixed(3); } });
    cols.push({ name: "frames/s (per-frame phase)", num: true, get: function (r) {
      if (r.frames_per_s === null) return "-";
      const p = r.delta ? r.delta.frames_per_s_percent : null;
      return r.frames_per_s.toFixed(1) + " " + r.frame_phase + (p === null ? "" : " (" + (p > 0 ? "+" : "") + p.toFixed(1) + " %)");
    } });
    cols.push({ name: "Δ duration", num: true, get: function (r) { return r.delta ? (r.delta.duration_s > 0 ? "+" : "") + r.delta.duration_s.toFixed(3) + " s" : "baseline"; } });
    sec.appendChild(table(cols, c.rows));
    sec.appendChild(el("p", { class: "muted" }, ["Δ is each trace minus the baseline (the first trace given, or --baseline); positive means more memory. On unified memory the GPU peak is inside system used; on a discrete GPU it is VRAM, in addition to RAM."]));
    sec.appendChild(el("h3", {}, ["Overlaid timelines"]));
    const series = [];
    timelines.forEach(function (tl, i) {
      const c = PALETTE[i % PALETTE.length];
      series.push(withLine({ name: tl.label + ": system used", color: c }, tl.system_used));
      if (has(tl.rss)) series.push(withLine({ name: tl.label + ": process tree RSS", color: c, dash: true }, tl.rss));
    });
    sec.appendChild(chart({ series: series, hlines: [], bands: [] }));
    return sec;
  }

  const many = reports.length > 1;
  document.title = "jetmem report: " + reports.map(function (r) { return r.label; }).join(", ");
  root.appendChild(el("h1", {}, [document.title]));
  root.appendChild(el("p", { class: "muted" }, ["Generated by jetmem " + data.version + ". Sizes in binary units (1 MiB = 1048576 bytes); a column uses the unit of its largest value."]));
  if (many) root.appendChild(comparison());
  reports.forEach(function (r, i) { root.appendChild(section(r, timelines[i], many, data.phases_not_embedded[i])); });
  body.dataset.timelines = String(document.querySelectorAll("svg.timeline path.series").length);
  body.dataset.ready = "1";
  if (location.hash === "#selftest") selftest();

  // Run by tests/html/browser-check.sh: a wheel zooms the first timeline
  // (its line is redrawn) and hovering shows the values.
  function selftest() {
    const t = document.querySelector("svg.timeline");
    const r = t.getBoundingClientRect();
    const at = { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true };
    const line = function () { return t.querySelector("path.series").getAttribute("d"); };
    const before = line();
    t.dispatchEvent(new WheelEvent("wheel", Object.assign({ deltaY: -100 }, at)));
    const zoomed = line() !== before;
    t.dispatchEvent(new MouseEvent("mousemove", at));
    const tip = t.parentNode.querySelector(".tip");
    const hover = tip.style.display === "block" && tip.textContent.length > 0;
    t.dispatchEvent(new MouseEvent("dblclick", at));
    const reset = line() === before;
    body.dataset.selftest = zoomed && hover && reset ? "pass" : "fail: zoom " + zoomed + ", hover " + hover + ", reset " + reset;
  }
})();
