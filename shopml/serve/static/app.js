// Seller page: photos -> attributes -> draft -> publish, through the JSON API.
// Every text from the server (generated or typed) is written with textContent, never as HTML.
"use strict";

const form = document.getElementById("seller-form");
const photosInput = document.getElementById("photos");
const errorBox = document.getElementById("error");
const draftButton = document.getElementById("draft-button");
const publishButton = document.getElementById("publish-button");
const statusLine = document.getElementById("attributes-status");
let lastBackend = "";

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError() {
  errorBox.textContent = "";
  errorBox.hidden = true;
}

async function call(url, body) {
  const response = await fetch(url, { method: "POST", body });
  let payload = null;
  try { payload = await response.json(); } catch (e) { payload = null; }
  if (!response.ok) {
    const detail = payload && payload.detail ? payload.detail : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return payload;
}

function photoData() {
  const data = new FormData();
  for (const file of photosInput.files) data.append("photos", file);
  return data;
}

function attributeValues() {
  const values = {};
  for (const input of form.querySelectorAll("input[data-attribute]")) {
    if (input.value.trim()) values[input.dataset.attribute] = input.value.trim();
  }
  return values;
}

function fieldValue(name) {
  const field = form.elements.namedItem(name);
  return field ? field.value.trim() : "";
}

function addSellerFields(data, names) {
  for (const name of names) {
    const value = fieldValue(name);
    if (value) data.append(name, value);
  }
}

function showPreviews() {
  const box = document.getElementById("previews");
  box.replaceChildren();
  for (const file of photosInput.files) {
    const img = el("img");
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    box.append(img);
  }
}

async function predictAttributes() {
  clearError();
  showPreviews();
  draftButton.disabled = true;
  if (!photosInput.files.length) return;
  statusLine.textContent = "Reading the photos…";
  try {
    const result = await call("/api/attributes", photoData());
    for (const [name, prediction] of Object.entries(result.merged)) {
      const input = form.querySelector(`input[data-attribute="${CSS.escape(name)}"]`);
      if (!input) continue;
      input.value = prediction.label;
      const list = document.getElementById(`top_${name}`);
      list.replaceChildren(...prediction.top.map(([label]) => { const o = el("option"); o.value = label; return o; }));
      const badge = form.querySelector(`[data-confidence="${CSS.escape(name)}"]`);
      badge.textContent = `${Math.round(prediction.probability * 100)}%`;
    }
    statusLine.textContent = `Attributes predicted from ${result.photos.length} photo(s).`;
    form.dataset.attributesReady = "true";
    draftButton.disabled = false;
  } catch (error) {
    statusLine.textContent = "";
    showError(error.message);
  }
}

async function writeDraft() {
  clearError();
  draftButton.disabled = true;
  draftButton.textContent = "Writing…";
  try {
    const data = photoData();
    addSellerFields(data, ["brand", "condition", "price", "size", "material", "notes", "backend"]);
    data.append("attributes", JSON.stringify(attributeValues()));
    const draft = await call("/api/drafts", data);
    lastBackend = draft.backend;
    document.getElementById("title").value = draft.suggested_title;
    document.getElementById("description").value = draft.text;
    document.getElementById("draft-meta").textContent =
      `Drafted by ${draft.backend} in ${draft.latency_s.toFixed(2)} s.`;
    const references = document.getElementById("references");
    references.replaceChildren(...draft.references.map((r) => {
      const item = el("li");
      item.append(el("strong", r.title || r.item_id), el("span", ` (${r.source}, similarity ${r.score.toFixed(2)})`, "muted"));
      item.append(el("p", r.description.length > 220 ? `${r.description.slice(0, 220)}…` : r.description));
      return item;
    }));
    if (!draft.references.length) references.append(el("li", "none (retrieval off)", "muted"));
    const removed = document.getElementById("removed-claims");
    removed.replaceChildren(...draft.removed_claims.map((c) => {
      const item = el("li");
      item.append(el("code", c.kind), el("span", ` ${c.text}`));
      return item;
    }));
    if (!draft.removed_claims.length) removed.append(el("li", "nothing removed", "muted"));
    document.getElementById("draft").hidden = false;
    form.dataset.draftReady = "true";
  } catch (error) {
    showError(error.message);
  } finally {
    draftButton.disabled = false;
    draftButton.textContent = "Write draft";
  }
}

function listingCard(listing) {
  const item = el("li", null, "listing");
  item.dataset.listingId = listing.id;
  if (listing.photos.length) {
    const img = el("img");
    img.src = listing.photos[0];
    img.alt = "";
    item.append(img);
  }
  const body = el("div");
  const link = el("a", listing.title, "listing-title");
  link.href = `/listings/${listing.id}`;
  const meta = [listing.price.toFixed(2) + (listing.currency ? ` ${listing.currency}` : ""), listing.brand, listing.condition]
    .filter(Boolean).join(" · ");
  const description = listing.description.length > 160 ? `${listing.description.slice(0, 157)}...` : listing.description;
  body.append(link, el("div", meta, "listing-meta"), el("p", description, "listing-description"));
  item.append(body);
  return item;
}

async function refreshListings() {
  const response = await fetch("/api/listings?limit=50");
  const page = await response.json();
  document.getElementById("listings").replaceChildren(...page.listings.map(listingCard));
  document.getElementById("listing-count").textContent = `(${page.total})`;
  const empty = document.getElementById("no-listings");
  if (empty) empty.remove();
}

async function publish() {
  clearError();
  publishButton.disabled = true;
  try {
    const data = photoData();
    data.append("title", document.getElementById("title").value);
    data.append("description", document.getElementById("description").value);
    data.append("price", fieldValue("price"));
    addSellerFields(data, ["brand", "condition", "size", "material"]);
    data.append("attributes", JSON.stringify(attributeValues()));
    if (lastBackend) data.append("backend", lastBackend);
    const listing = await call("/api/listings", data);
    await refreshListings();
    statusLine.textContent = `Published listing ${listing.id}.`;
    form.dataset.published = String(listing.id);
  } catch (error) {
    showError(error.message);
  } finally {
    publishButton.disabled = false;
  }
}

photosInput.addEventListener("change", predictAttributes);
draftButton.addEventListener("click", writeDraft);
publishButton.addEventListener("click", publish);
