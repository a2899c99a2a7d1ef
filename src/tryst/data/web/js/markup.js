// Safe formatting for what people write: the text is never parsed as HTML. **bold** and
// *italic* (or _italic_) become <strong> and <em>; everything else stays plain text.

const PATTERN = /(\*\*[^*\n]+\*\*|\*[^*\n]+\*|_[^_\n]+_)/g;

export function formatted(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(PATTERN)) {
    if (match.index > last) fragment.append(text.slice(last, match.index));
    const token = match[0];
    const strong = token.startsWith("**");
    const el = document.createElement(strong ? "strong" : "em");
    el.textContent = strong ? token.slice(2, -2) : token.slice(1, -1);
    fragment.append(el);
    last = match.index + token.length;
  }
  if (last < text.length) fragment.append(text.slice(last));
  return fragment;
}

// h("p", {class: "x", onclick: fn}, "text", child...) builds an element. Strings become
// text nodes, so user content can never become markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
