// Accessibility checks run in the page by tests/web/test_accessibility.py. Answers a list of problems, each a
// short sentence naming the element; an empty list means the page passed.
() => {
  const problems = [];
  const describe = (el) => {
    const id = el.id ? `#${el.id}` : "";
    const name = el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "";
    const text = (el.textContent || "").trim().slice(0, 30);
    return `<${el.tagName.toLowerCase()}${id}${name}>${text ? ` "${text}"` : ""}`;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") return false;
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && box.right > 0 && box.bottom > 0;
  };
  const byIds = (ids) =>
    (ids || "").split(/\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent || "").join(" ").trim();
  const accessibleName = (el) => {
    const named = (el.getAttribute("aria-label") || "").trim() || byIds(el.getAttribute("aria-labelledby"));
    if (named) return named;
    if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => l.textContent.trim()).join(" ");
    if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type)) return (el.value || "").trim();
    const inner = (el.textContent || "").trim();
    if (inner) return inner;
    const image = el.querySelector("img[alt]");
    return ((image && image.getAttribute("alt")) || el.getAttribute("title") || "").trim();
  };

  const lang = document.documentElement.getAttribute("lang");
  if (!lang || !lang.trim()) problems.push("<html> has no lang");

  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (field.type === "hidden" || !visible(field)) continue;
    if (!field.labels?.length && !accessibleName(field)) problems.push(`${describe(field)} has no label`);
  }
  for (const control of document.querySelectorAll("button, a[href], [role=button], input[type=submit]")) {
    if (!visible(control) && !control.classList.contains("skip-link")) continue;
    if (!accessibleName(control)) problems.push(`${describe(control)} has no accessible name`);
  }
  for (const image of document.querySelectorAll("img")) {
    if (!image.hasAttribute("alt")) problems.push(`${describe(image)} has no alt`);
  }
  for (const chart of document.querySelectorAll("svg")) {
    if (chart.getAttribute("aria-hidden") === "true") continue;
    const labelled = chart.getAttribute("aria-label") || byIds(chart.getAttribute("aria-labelledby"))
      || chart.querySelector("title")?.textContent;
    if (chart.getAttribute("role") !== "img" || !labelled) {
      problems.push(`${describe(chart)} needs role="img" and an aria-label`);
    }
  }
  const headings = document.querySelectorAll("h1");
  if (headings.length !== 1) problems.push(`the page has ${headings.length} <h1> instead of one`);

  // Contrast (WCAG 2 relative luminance) of every visible element that holds text, against the first opaque
  // background found walking up from it (the page's white when none is set).
  const rgba = (text) => {
    const parts = (text.match(/[\d.]+/g) || []).map(Number);
    return { r: parts[0] ?? 0, g: parts[1] ?? 0, b: parts[2] ?? 0, a: parts.length > 3 ? parts[3] : 1 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour.a > 0) layers.push(colour);
      if (colour.a >= 1) break;
    }
    let result = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const luminance = ({ r, g, b }) => {
    const channel = (value) => {
      const s = value / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const ratio = (one, two) => {
    const [light, dark] = [luminance(one), luminance(two)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  const seen = new Set();
  for (const el of document.querySelectorAll("body *")) {
    const ownText = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || !visible(el) || el.closest(".visually-hidden, .skip-link")) continue;
    const back = background(el);
    const fore = over(rgba(getComputedStyle(el).color), back);
    const found = ratio(fore, back);
    const pair = `${JSON.stringify(fore)} on ${JSON.stringify(back)}`;
    if (found < 4.5 && !seen.has(pair)) {
      seen.add(pair);
      problems.push(`${describe(el)}: contrast ${found.toFixed(2)}:1 is below 4.5:1`);
    }
  }
  // text wider than its box spills over its neighbours (a long amount in a narrow tile): it must wrap or fit
  for (const el of document.querySelectorAll("main *")) {
    if (!visible(el) || el.closest("svg, .table-wrap")) continue;
    const style = getComputedStyle(el);
    if (style.overflowX !== "visible" || style.display === "inline" || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${describe(el)}: its content is ${el.scrollWidth}px wide in a ${el.clientWidth}px box`);
    }
  }
  return problems;
}
