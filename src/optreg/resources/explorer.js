// Front end of optreg.widgets.Explorer: draws the selected precomputed frame as SVG.
// Inlined into each widget's HTML (defined once per page), so it needs no server or CDN.
if (!window.optregExplorer) {
window.optregExplorer = function (root, data) {
  var NS = "http://www.w3.org/2000/svg";
  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    var a = Math.abs(v);
    if (v === 0) return "0";
    if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
    return String(Number(v.toPrecision(3)));
  }
  function ticks(lo, hi, log) {
    var out = [], k;
    if (log) {
      var a = Math.ceil(Math.log10(lo) - 1e-9), b = Math.floor(Math.log10(hi) + 1e-9);
      var stride = Math.max(1, Math.ceil((b - a + 1) / 6));
      for (k = a; k <= b; k += stride) out.push(Math.pow(10, k));
      return out;
    }
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / 5)));
    if (span / step > 10) step *= 2;
    if (span / step > 10) step *= 2.5;
    for (k = Math.ceil(lo / step - 1e-9) * step; k <= hi + step * 1e-9; k += step) {
      out.push(Math.abs(k) < step * 1e-9 ? 0 : k);
    }
    return out;
  }
  function plot(p, uid) {
    var W = p.width, H = p.height, L = 58, R = 10, T = 10, B = 42, w = W - L - R, h = H - T - B;
    var fx = p.logx ? Math.log10 : function (v) { return v; };
    var fy = p.logy ? Math.log10 : function (v) { return v; };
    var x0 = fx(p.xlim[0]), x1 = fx(p.xlim[1]), y0 = fy(p.ylim[0]), y1 = fy(p.ylim[1]);
    function sx(v) { return L + (fx(v) - x0) / (x1 - x0) * w; }
    function sy(v) { return T + h - (fy(v) - y0) / (y1 - y0) * h; }
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img"});
    var clip = el("clipPath", {id: uid}); clip.appendChild(el("rect", {x: L, y: T, width: w, height: h}));
    var defs = el("defs", {}); defs.appendChild(clip); svg.appendChild(defs);
    if (p.background !== null) {
      svg.appendChild(el("image", {href: data.images[p.background], x: L, y: T, width: w, height: h,
                                   preserveAspectRatio: "none"}));
    }
    var axes = el("g", {"font-size": 11, fill: "#333"});
    ticks(p.xlim[0], p.xlim[1], p.logx).forEach(function (v) {
      var X = sx(v);
      axes.appendChild(el("line", {x1: X, x2: X, y1: T + h, y2: T + h + 4, stroke: "#555"}));
      axes.appendChild(el("text", {x: X, y: T + h + 16, "text-anchor": "middle"}, fmt(v)));
    });
    ticks(p.ylim[0], p.ylim[1], p.logy).forEach(function (v) {
      var Y = sy(v);
      axes.appendChild(el("line", {x1: L - 4, x2: L, y1: Y, y2: Y, stroke: "#555"}));
      if (p.background === null) {
        axes.appendChild(el("line", {x1: L, x2: L + w, y1: Y, y2: Y, stroke: "#eee"}));
      }
      axes.appendChild(el("text", {x: L - 7, y: Y + 4, "text-anchor": "end"}, fmt(v)));
    });
    axes.appendChild(el("text", {x: L + w / 2, y: H - 6, "text-anchor": "middle"}, p.xlabel));
    axes.appendChild(el("text", {x: 12, y: T + h / 2, "text-anchor": "middle",
                                 transform: "rotate(-90 12 " + (T + h / 2) + ")"}, p.ylabel));
    svg.appendChild(axes);
    var g = el("g", {"clip-path": "url(#" + uid + ")"});
    var lines = p.lines.map(function (k) { return data.lines[k]; });
    lines.forEach(function (line) {
      var d = "", pen = false, dots = [];
      for (var i = 0; i < line.x.length; i++) {
        var xv = line.x[i], yv = line.y[i];
        var ok = xv !== null && yv !== null && !(p.logx && xv <= 0) && !(p.logy && yv <= 0);
        if (!ok) { pen = false; continue; }
        var X = sx(xv).toFixed(1), Y = sy(yv).toFixed(1);
        d += (pen ? "L" : "M") + X + " " + Y; pen = true;
        if (line.markers) dots.push([X, Y]);
      }
      if (d) {
        g.appendChild(el("path", {d: d, fill: "none", stroke: line.color, "stroke-width": line.width,
                                  "stroke-dasharray": line.dash, "stroke-linejoin": "round",
                                  opacity: line.opacity}));
      }
      dots.forEach(function (q, i) {
        g.appendChild(el("circle", {cx: q[0], cy: q[1], r: i === 0 ? 4 : 2, fill: line.color,
                                    opacity: line.opacity}));
      });
    });
    svg.appendChild(g);
    svg.appendChild(el("rect", {x: L, y: T, width: w, height: h, fill: "none", stroke: "#555"}));
    var labelled = lines.filter(function (l) { return l.label; });
    if (p.legend && labelled.length) {
      var lg = el("g", {"font-size": 11}), lh = 15, lw = 0;
      labelled.forEach(function (l) { lw = Math.max(lw, l.label.length * 6.6 + 32); });
      lg.appendChild(el("rect", {x: L + w - lw - 6, y: T + 6, width: lw, height: labelled.length * lh + 6,
                                 fill: "white", opacity: 0.85, stroke: "#ccc"}));
      labelled.forEach(function (l, i) {
        var Y = T + 16 + i * lh, X = L + w - lw;
        lg.appendChild(el("line", {x1: X, x2: X + 18, y1: Y - 4, y2: Y - 4, stroke: l.color,
                                   "stroke-width": 3, "stroke-dasharray": l.dash}));
        lg.appendChild(el("text", {x: X + 24, y: Y}, l.label));
      });
      svg.appendChild(lg);
    }
    return svg;
  }
  var controls = root.querySelector(".optreg-controls"), panels = root.querySelector(".optreg-panels");
  var index = data.controls.map(function (c) { return c.index; });
  function render() {
    var frame = data.frames[index.join(",")];
    panels.innerHTML = "";
    frame.forEach(function (p, k) {
      var box = document.createElement("div"); box.className = "optreg-panel";
      if (p.title) {
        var t = document.createElement("div"); t.className = "optreg-ptitle"; t.textContent = p.title;
        box.appendChild(t);
      }
      if (p.kind === "picture") {
        var img = document.createElement("img");
        img.src = data.images[p.src]; img.width = p.width; img.alt = p.title || "figure";
        if (p.pixelated) img.style.imageRendering = "pixelated";
        box.appendChild(img);
      } else {
        box.appendChild(plot(p, root.id + "-clip-" + k));
      }
      if (p.note) {
        var n = document.createElement("div"); n.className = "optreg-note"; n.textContent = p.note;
        box.appendChild(n);
      }
      panels.appendChild(box);
    });
  }
  data.controls.forEach(function (c, j) {
    var wrap = document.createElement("label"); wrap.className = "optreg-control";
    wrap.appendChild(document.createTextNode(c.label));
    var input, shown = document.createElement("span");
    shown.className = "optreg-value";
    if (c.kind === "range") {
      input = document.createElement("input");
      input.type = "range"; input.min = 0; input.max = c.texts.length - 1; input.step = 1;
      input.value = c.index;
    } else {
      input = document.createElement("select");
      c.texts.forEach(function (t, i) {
        var o = document.createElement("option"); o.value = i; o.textContent = t; input.appendChild(o);
      });
      input.value = c.index;
    }
    input.setAttribute("aria-label", c.label);
    input.dataset.control = c.name;
    shown.textContent = c.kind === "range" ? c.texts[c.index] : "";
    function update() {
      index[j] = parseInt(input.value, 10);
      if (c.kind === "range") shown.textContent = c.texts[index[j]];
      render();
    }
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    wrap.appendChild(input);
    if (c.kind === "range") wrap.appendChild(shown);
    controls.appendChild(wrap);
  });
  render();
};
}
