// semlat viewer: a gallery, an image view (regions, prompts, the cross-view check), search and the report.
// Plain JavaScript over the JSON API of `semlat serve`; no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const MIN_SHOWN_WIDTH = 512; // small photos are enlarged by a whole factor (pixels kept sharp), never resampled
const state = { info: null, images: [], byId: new Map(), image: null, regions: null, label: null, query: null };

function withParams(path, params) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(name, v));
    else url.searchParams.set(name, value);
  }
  return url.pathname + url.search;
}

async function api(path, params) {
  const response = await fetch(withParams(path, params));
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function fillSelect(select, values, chosen, names) {
  select.replaceChildren(...values.map((v, i) => el("option", { value: v, text: names ? names[i] : v })));
  if (chosen !== undefined && chosen !== null) select.value = chosen;
}

function showError(id, error) {
  const box = $(id);
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

function shownScale(record) {
  return Math.min(4, Math.max(1, Math.floor(MIN_SHOWN_WIDTH / record.width)));
}

function regionSet() {
  const features = $("features").value;
  return features ? features.split("/")[0] : null;
}

function formatScore(value) {
  if (value === 0 || Math.abs(value) >= 1e-3) return value.toFixed(3);
  return value.toExponential(0);
}

// -- views -----------------------------------------------------------------------------------
function show(view) {
  for (const name of ["gallery", "image", "search", "report"]) $(`${name}-view`).hidden = name !== view;
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
}

async function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "image" && parts.length === 2) return showImage(Number(parts[1]), params);
  if (parts[0] === "search") return showSearch(params);
  if (parts[0] === "report") return showReport();
  return showGallery();
}

function showGallery() {
  show("gallery");
  const gallery = $("gallery");
  if (gallery.childElementCount === state.images.length && state.images.length) return;
  $("gallery-summary").textContent = `${state.images.length} images`;
  gallery.replaceChildren(
    ...state.images.map((record) =>
      el(
        "a",
        { class: "card", href: `#/image/${record.id}`, "data-image": record.id },
        el("img", { src: `/api/images/${record.id}/photo.png?size=320`, alt: record.name, loading: "lazy" }),
        el("div", { class: "caption", text: `${record.name} · ${record.regions} regions · ${record.labels} labels` }),
      ),
    ),
  );
}

// -- one image -------------------------------------------------------------------------------
async function showImage(imageId, params) {
  show("image");
  const record = state.byId.get(imageId);
  if (!record) {
    showError("query-error", `no image ${imageId} in this workspace`);
    return;
  }
  const changed = !state.image || state.image.id !== imageId;
  state.image = record;
  $("image-title").textContent = `${record.name} (${record.width}×${record.height})`;
  const index = state.images.indexOf(record);
  $("prev-image").href = `#/image/${state.images[(index - 1 + state.images.length) % state.images.length].id}`;
  $("next-image").href = `#/image/${state.images[(index + 1) % state.images.length].id}`;
  const scale = shownScale(record);
  for (const img of [$("photo"), $("segmentation")]) {
    img.width = record.width * scale;
    img.height = record.height * scale;
  }
  $("hover-info").style.maxWidth = `${record.width * scale}px`;
  if (changed) {
    $("photo").src = `/api/images/${record.id}/photo.png`;
    state.query = null;
    $("seg-figure").hidden = true;
    $("heatmaps").replaceChildren();
  }
  try {
    state.regions = await api(`/api/images/${record.id}/regions`, { region_set: regionSet() });
  } catch (error) {
    showError("query-error", error);
    return;
  }
  const levels = state.regions.levels;
  const level = $("level").value;
  const kept = level === "all" || levels.map(String).includes(level) ? level : null;
  // nested SAM levels drawn together are a tangle: the first level is shown until another is chosen
  const initial = kept || (levels.length > 1 ? String(levels[0]) : "all");
  fillSelect($("level"), ["all", ...levels.map(String)], initial, ["all levels", ...levels.map((l) => `level ${l}`)]);
  drawOutlines();
  const chosen = params.get("region");
  if (chosen !== null) {
    const region = state.regions.regions.find((r) => r.region_id === Number(chosen));
    if (region) selectLabel(region.label, region);
  } else if (state.label !== null) {
    selectLabel(state.label);
  }
  if (changed && $("prompts").value.trim() && state.info.features.length) runQuery();
}

function shownRegions() {
  const level = $("level").value;
  return state.regions.regions.filter((r) => level === "all" || String(r.level) === level);
}

function describe(region) {
  const record = state.image;
  const share = ((100 * region.area) / (record.width * record.height)).toFixed(1);
  const label = region.label < 0 ? "no label" : `label ${region.label}`;
  let text = `region ${region.region_id} · ${label} · level ${region.level} · ${region.area} px (${share}%) · mask score ${region.score.toFixed(3)}`;
  const best = state.query && state.query.regions[region.region_id];
  if (best) text += ` · best prompt “${state.query.prompts[best.prompt]}” ${formatScore(best.score)}`;
  return text;
}

function drawOutlines() {
  const svg = $("outlines");
  const record = state.image;
  svg.setAttribute("viewBox", `0 0 ${record.width} ${record.height}`);
  const regions = shownRegions();
  svg.replaceChildren(
    ...regions.map((region) =>
      el("svg:path", {
        d: region.path,
        "data-region": region.region_id,
        "data-label": region.label,
        class: state.label !== null && region.label === state.label ? "chosen" : null,
        onmouseenter: () => ($("hover-info").textContent = describe(region)),
        onclick: () => selectLabel(region.label, region),
      }),
    ),
  );
  const labels = [...new Set(regions.map((r) => r.label).filter((l) => l >= 0))].sort((a, b) => a - b);
  $("labels-line").replaceChildren(
    el("span", { class: "muted", text: labels.length ? "labels in this view:" : "no cross-view labels in this view" }),
    ...labels.map((label) =>
      el("span", {
        class: `chip${label === state.label ? " active" : ""}`,
        "data-label": label,
        text: `label ${label}`,
        onclick: () => selectLabel(label),
      }),
    ),
  );
}

async function selectLabel(label, region) {
  state.label = label;
  drawOutlines();
  const box = $("crossview");
  box.hidden = false;
  const like = region
    ? el("a", { href: `#/search?like=${state.image.id}:${region.region_id}`, text: " · more like this region" })
    : null;
  if (label < 0) {
    $("crossview-title").replaceChildren(`region ${region.region_id} has no cross-view label (run semlat label)`, like || "");
    $("crossview-views").replaceChildren();
    return;
  }
  $("crossview-title").replaceChildren(`label ${label} in the other views`, like || "");
  let answer;
  try {
    answer = await api(`/api/labels/${label}`, { region_set: regionSet() });
  } catch (error) {
    $("crossview-views").replaceChildren(el("span", { class: "error", text: error.message }));
    return;
  }
  if (state.label !== label) return; // another label was chosen meanwhile
  const others = answer.views.filter((view) => view.image_id !== state.image.id);
  $("crossview-title").replaceChildren(
    `label ${label} in ${others.length} other view${others.length === 1 ? "" : "s"}${others.length ? "" : " (it appears in this one only)"}`,
    like || "",
  );
  $("crossview-views").replaceChildren(
    ...others.map((view) =>
      el(
        "a",
        { class: "card", href: `#/image/${view.image_id}`, "data-image": view.image_id },
        el(
          "div",
          { class: "thumb" },
          el("img", { src: `/api/images/${view.image_id}/photo.png?size=320`, alt: view.name }),
          el(
            "svg:svg",
            { viewBox: `0 0 ${view.width} ${view.height}`, preserveAspectRatio: "none" },
            ...view.regions.map((r) => el("svg:path", { d: r.path, "data-region": r.region_id })),
          ),
        ),
        el("div", { class: "caption", text: `${view.name} · ${view.regions.length} region${view.regions.length === 1 ? "" : "s"}` }),
      ),
    ),
  );
}

function queryParams() {
  return {
    prompts: $("prompts").value,
    fusion: $("fusion").value,
    score: $("score").value,
    normalize: $("normalize").value,
    features: $("features").value,
  };
}

async function runQuery() {
  const record = state.image;
  const params = queryParams();
  showError("query-error", null);
  $("ask").disabled = true;
  let answer;
  try {
    answer = await api(`/api/images/${record.id}/query`, params);
  } catch (error) {
    showError("query-error", error);
    return;
  } finally {
    $("ask").disabled = false;
  }
  state.query = answer;
  $("seg-figure").hidden = false;
  $("segmentation").src = withParams(`/api/images/${record.id}/segmentation.png`, params);
  $("legend").replaceChildren(
    ...answer.prompts.map((prompt, i) =>
      el("span", {}, el("span", { class: "swatch", style: `background:${answer.colours[i]}` }), prompt),
    ),
  );
  const gradient = `linear-gradient(to right, ${state.info.colormap.join(", ")})`;
  $("heatmaps").replaceChildren(
    ...answer.prompts.map((prompt, i) => {
      const [low, high] = answer.ranges[i];
      return el(
        "figure",
        { class: "heatmap", "data-prompt": i, style: `width:${record.width + 18}px` },
        el("div", { class: "title" }, el("span", { class: "swatch", style: `background:${answer.colours[i]}` }), prompt),
        el("img", {
          src: withParams(`/api/images/${record.id}/heatmap/${i}.png`, params),
          width: record.width, // at the photo's own resolution
          height: record.height,
          alt: `heatmap of ${prompt}`,
        }),
        el("div", { class: "colourbar", style: `background:${gradient}` }),
        el(
          "div",
          { class: "colourbar-labels" },
          el("span", { text: formatScore(low) }),
          el("span", { text: `${answer.score}${answer.normalize === "joint" ? ", one scale for all prompts" : ""}` }),
          el("span", { text: formatScore(high) }),
        ),
      );
    }),
  );
}

// -- search ----------------------------------------------------------------------------------
async function showSearch(params) {
  show("search");
  const text = params.get("q") || "";
  const like = params.get("like");
  $("search-text").value = text;
  const likeChip = $("search-like");
  likeChip.hidden = !like;
  if (like) {
    const [imageId, regionId] = like.split(":");
    const record = state.byId.get(Number(imageId));
    likeChip.textContent = `like ${record ? record.name : imageId}:${regionId} ×`;
    likeChip.onclick = () => (location.hash = "#/search");
  }
  if (!text && !like) {
    $("search-results").replaceChildren();
    return;
  }
  showError("search-error", null);
  let answer;
  try {
    answer = await api("/api/search", {
      q: like ? null : text,
      like,
      by: $("search-by").value,
      score: $("search-score").value,
      top: $("search-top").value,
      features: $("features").value,
    });
  } catch (error) {
    showError("search-error", error);
    return;
  }
  const set = answer.features.split("/")[0];
  $("search-results").replaceChildren(
    ...(answer.hits.length ? [] : [el("p", { class: "muted", text: "no matching regions" })]),
    ...answer.hits.map((hit, rank) =>
      el(
        "a",
        { class: "card", href: `#/image/${hit.image_id}?region=${hit.region_id}`, "data-image": hit.image_id },
        el("img", { src: withParams(`/api/images/${hit.image_id}/regions/${hit.region_id}/crop.png`, { region_set: set }), alt: "" }),
        el("div", { class: "caption", text: `${rank + 1}. ${hit.image}:${hit.region_id}` }),
        el("div", { class: "caption muted", text: `score ${hit.score.toFixed(3)} · label ${hit.label}` }),
      ),
    ),
  );
}

// -- report ----------------------------------------------------------------------------------
async function showReport() {
  show("report");
  let report;
  try {
    report = await api("/api/report");
  } catch (error) {
    $("report-summary").textContent = error.message;
    return;
  }
  const frame = $("report-frame");
  if (!report.available) {
    $("report-summary").replaceChildren(el("p", { class: "hint", text: report.hint }));
    frame.hidden = true;
    return;
  }
  const s = report.summary;
  $("report-summary").replaceChildren(
    el("p", {
      text: `${s.labels} labels over ${s.labelled_regions} regions in ${s.images} images; mean cosine to prototype ${Number(s.mean_cosine_to_prototype).toFixed(4)} (from semlat metrics)`,
    }),
  );
  frame.hidden = false;
  if (!frame.src) frame.src = "/report";
}

// -- start -----------------------------------------------------------------------------------
async function start() {
  try {
    state.info = await api("/api/info");
    state.images = await api("/api/images");
  } catch (error) {
    $("hint").hidden = false;
    $("hint").textContent = error.message;
    return;
  }
  const info = state.info;
  state.byId = new Map(state.images.map((r) => [r.id, r]));
  $("ws-name").textContent = `${info.workspace}: ${info.images} images, region sets ${info.region_sets.join(", ") || "none"}`;
  if (info.hint) {
    $("hint").hidden = false;
    $("hint").textContent = info.hint;
  }
  fillSelect($("fusion"), info.fusions, "sum");
  fillSelect($("score"), info.scores, "softmax");
  fillSelect($("normalize"), info.normalize, "prompt", ["per prompt", "joint (one scale)"]);
  fillSelect($("features"), info.features, info.default_features);
  fillSelect($("search-by"), info.search_by, "region");
  fillSelect($("search-score"), info.search_scores, "cosine");
  $("search-top").max = info.max_top;
  const noFeatures = !info.features.length;
  for (const id of ["prompts", "ask", "search-text", "search-go"]) $(id).disabled = noFeatures;
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runQuery();
  });
  for (const id of ["fusion", "score", "normalize"]) $(id).addEventListener("change", () => state.query && runQuery());
  $("features").addEventListener("change", () => state.image && showImage(state.image.id, new URLSearchParams()));
  $("level").addEventListener("change", drawOutlines);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("search-text").value.trim();
    const target = text ? `#/search?q=${encodeURIComponent(text)}` : location.hash;
    if (location.hash === target) showSearch(new URLSearchParams(target.split("?")[1] || ""));
    else location.hash = target;
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
