// Building the page: createElement and textContent only (never innerHTML), so nothing a user or the
// API supplies is ever parsed as HTML.

export function el(tag, props = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") made.textContent = value;
    else if (name.startsWith("on")) made.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) made.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) made.append(child);
  return made;
}

export function labelled(id, text, control) {
  control.id = id;
  return el("span", { class: "field" }, el("label", { for: id, text }), control);
}

export function note(text) {
  return el("p", { class: "note", text });
}

export function errors(list) {
  return list.map((message) => el("p", { class: "error", role: "alert", text: message }));
}

export function section(title, ...children) {
  return el("section", { class: "panel", "aria-label": title }, el("h3", { text: title }), ...children);
}

// A table: column titles, and rows of cells (strings, numbers, or nodes).
export function table(caption, columns, rows, props = {}) {
  const cell = (value) => (value instanceof Node ? value : document.createTextNode(value === null || value === undefined ? "-" : String(value)));
  return el(
    "table",
    props,
    caption ? el("caption", { text: caption }) : null,
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col", text: c })))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...row.map((v) => el("td", {}, cell(v)))))),
  );
}

export function countText(count) {
  if (!count) return "-";
  if (count.value === null) return `fewer than ${count.fewerThan.toLocaleString("en")}`;
  return `${count.value.toLocaleString("en")}${count.exact ? "" : " (rounded, with a little noise)"}`;
}

export function when(iso) {
  if (!iso) return "-";
  return iso.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return "-";
  return Number(value).toLocaleString("en", { maximumFractionDigits: digits });
}

export function profileLink(userId, text = userId) {
  return el("a", { href: `#/profile/${encodeURIComponent(userId)}`, text });
}

// A horizontal bar for a share of the largest value (drawn with CSSOM, which the page's CSP allows).
export function bar(value, largest, label) {
  const fill = el("span", { class: "bar-fill" });
  fill.style.width = `${largest > 0 ? Math.max(0, (100 * value) / largest) : 0}%`;
  return el("span", { class: "bar", role: "img", "aria-label": label }, fill);
}
