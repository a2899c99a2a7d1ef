// Images: sharing one (upload, then post), showing one (blurred until revealed when the
// server says so), and protecting one's own images by sending only their hashes.
// Events never carry images: each viewer asks the server for a short-lived URL signed
// for them alone (docs/protocol.md, section 13).
import { ApiError } from "./net.js";
import { formatted, h } from "./markup.js";
import { hashFile, MIN_QUALITY } from "./pdq.js";

export const ACCEPT = "image/jpeg,image/png,image/webp,image/gif";

/** Upload a file as `personaId`; resolves with the server's media record. */
export async function uploadImage(file, personaId) {
  const response = await fetch(`/api/v1/media?persona_id=${encodeURIComponent(personaId)}`, {
    method: "POST", credentials: "same-origin", body: file,
    headers: { "content-type": file.type || "application/octet-stream" },
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data.media;
}

/** A button that picks an image, uploads it and posts it with `post(mediaId, options)`. */
export function shareButton(personaId, post, { viewOnce = true } = {}) {
  const status = h("span", { class: "hint", role: "status" });
  const input = h("input", { type: "file", accept: ACCEPT, class: "visually-hidden",
    "aria-label": "Choose an image to share" });
  const once = viewOnce ? h("input", { type: "checkbox", name: "view_once" }) : null;
  const box = h("div", { class: "share-image" });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    box.querySelector(".error")?.remove();
    status.textContent = `Sending ${file.name}…`;
    try {
      const media = await uploadImage(file, personaId);
      await post(media.id, { view_once: Boolean(once?.checked) });
      status.textContent = "Image sent.";
    } catch (err) {
      status.textContent = "";
      box.append(h("p", { class: "error", role: "alert" }, err.message));
    }
  });
  const pick = h("button", { type: "button", onclick: () => input.click() }, "Share an image");
  box.append(pick, input,
             once ? h("label", { class: "inline" }, once, " view once") : "", status);
  return box;
}

/** How an image line reads: the caption, then the picture behind one action when the
 *  server blurs it. `conn` is the page's Connection. */
export function imageLine(event, conn, stamp, name) {
  const media = event.data?.media || {};
  const caption = event.text ? h("span", {}, " ", formatted(event.text)) : "";
  const frame = h("div", { class: "image-frame" });
  const figure = h("figure", { class: "line image" },
    h("figcaption", {}, stamp, " ", name, " shared an image", media.view_once
      ? " (view once)" : "", caption ? ":" : "", caption), frame);
  const label = `Image from ${event.persona?.name || "someone"}`;

  async function show(reveal) {
    frame.replaceChildren(h("span", { class: "hint" }, "Loading…"));
    try {
      const view = await conn.send("view_media", { media: media.id, reveal });
      const img = h("img", { src: view.url, alt: view.blurred ? `${label}, blurred` : label,
        width: media.width, height: media.height, class: view.blurred ? "blurred" : "" });
      frame.replaceChildren(img);
      if (view.blurred) {
        const why = view.view_once ? "View once: it is deleted after you look."
          : "This image may be explicit, so it is blurred.";
        frame.append(h("p", { class: "hint" }, why), h("button", {
          type: "button", onclick: () => show(true) }, view.view_once ? "View once" : "Reveal"));
      } else if (view.view_once) {
        img.addEventListener("load", () => frame.append(
          h("p", { class: "hint" }, "This was a view-once image: it is gone once you leave.")));
      }
    } catch (err) {
      frame.replaceChildren(h("p", { class: "hint" }, err.code === "not_found"
        ? (media.view_once ? "Viewed once: no longer available." : "This image is no longer available.")
        : err.message));
    }
  }
  show(false);
  return figure;
}

/** The "protect my images" page: hashes are computed in this browser; only they are
 *  sent. The images themselves never leave the device. */
export function protectView() {
  const results = h("ul", { class: "protect-results", "aria-live": "polite" });
  const input = h("input", { type: "file", accept: ACCEPT, multiple: true, id: "protect-files" });
  const send = h("button", { type: "button", disabled: true }, "Protect these images");
  const outcome = h("p", { role: "status" });
  let hashed = [];
  input.addEventListener("change", async () => {
    hashed = [];
    results.replaceChildren();
    outcome.textContent = "";
    send.disabled = true;
    for (const file of input.files) {
      const item = h("li", {}, `${file.name}: hashing…`);
      results.append(item);
      try {
        const found = await hashFile(file);
        hashed.push(found);
        item.textContent = found.quality >= MIN_QUALITY
          ? `${file.name}: ready (PDQ ${found.pdq.slice(0, 12)}…)`
          : `${file.name}: too plain for a perceptual hash; only exact copies will be refused`;
      } catch (err) {
        item.textContent = `${file.name}: cannot be read as an image (${err.message})`;
      }
    }
    send.disabled = hashed.length === 0;
  });
  send.addEventListener("click", async () => {
    send.disabled = true;
    try {
      const images = hashed.map((x) => (x.quality >= MIN_QUALITY
        ? { pdq: x.pdq, quality: x.quality, sha256: x.sha256 } : { sha256: x.sha256 }));
      const result = await fetch("/api/v1/protect", {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json" }, body: JSON.stringify({ images }),
      }).then(async (r) => {
        const body = await r.json();
        if (!r.ok) throw new ApiError(r.status, body);
        return body;
      });
      outcome.textContent = `Protected: ${result.added} new hashes` +
        (result.duplicates ? `, ${result.duplicates} already protected` : "") + ".";
    } catch (err) {
      outcome.textContent = `Not protected: ${err.message}`;
      send.disabled = false;
    }
  });
  return h("section", { class: "protect", "aria-labelledby": "protect-title" },
    h("h2", { id: "protect-title" }, "Protect my images"),
    h("p", {}, "Choose images you do not want shared here. This page computes their " +
      "fingerprints (hashes) on your device and sends only those: the images never " +
      "leave it. Uploads matching them, including resized, recompressed, greyscale, " +
      "mirrored or rotated copies, are then refused."),
    h("p", { class: "hint" }, "Limits: a cropped copy, or one with a border added, may " +
      "not be recognised."),
    h("label", { for: "protect-files" }, "Images to protect"), input, results, send, outcome);
}
