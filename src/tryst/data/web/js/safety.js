// Safety on the page: notices the server sends a recipient (with block, report and
// keeping a copy of the evidence in one step each), and the report form.
import { api } from "./net.js";
import { h } from "./markup.js";
import { announce, go, problem, state, streamLines } from "./app.js";

const CATEGORIES = [
  ["harassment", "Harassment"],
  ["coercion", "Threats, blackmail or coercion"],
  ["non_consent", "Ignoring consent or limits"],
  ["intimate_image", "An intimate image shared without consent"],
  ["minor", "Someone who may be under 18"],
  ["solicitation", "Selling sexual services"],
  ["other", "Something else"],
];

// What this page holds from one persona: their lines, exactly as received (the server
// can verify lines that carry its tag).
function linesFrom(personaId) {
  const found = [];
  for (const [stream, lines] of state.lines) {
    for (const e of lines) {
      if (e.persona?.id === personaId && e.seq && typeof e.text === "string" && e.text) {
        found.push({ sender: personaId, stream, seq: e.seq, at: e.at, text: e.text,
                     ...(e.tag ? { tag: e.tag } : {}) });
      }
    }
  }
  return found.slice(-50);
}

function keepEvidence(persona) {
  const blob = new Blob([JSON.stringify({ persona, saved_at: new Date().toISOString(),
    messages: linesFrom(persona.id) }, null, 2)], { type: "application/json" });
  const link = h("a", { href: URL.createObjectURL(blob),
    download: `evidence-${persona.name.replace(/[^A-Za-z0-9]+/g, "-")}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  announce("A copy of their messages was saved to your device.");
}

/** A safety notice: shown until dismissed, with one-step actions. */
export function safetyNotice(frame) {
  const box = document.getElementById("safety-notices");
  const persona = frame.persona;
  const note = h("div", { class: "safety-notice", role: "alert" });
  const done = (text) => { note.remove(); announce(text); };
  note.append(
    h("p", {}, h("strong", {}, "Safety notice: "), frame.reason,
      frame.delivered ? "" : " The message was not delivered."),
    h("div", { class: "buttons" },
      h("button", { type: "button", onclick: async () => {
        try {
          await state.conn.send("block", { persona: persona.id });
          done(`Blocked ${persona.name}.`);
        } catch (err) { announce(problem(err)); }
      } }, `Block ${persona.name}`),
      h("button", { type: "button", onclick: () => {
        note.remove();
        state.reportHint = frame.signal;
        go(`report/${encodeURIComponent(persona.id)}`);
      } }, "Report"),
      h("button", { type: "button", onclick: () => keepEvidence(persona) }, "Save a copy"),
      h("button", { type: "button", onclick: () => note.remove() }, "Dismiss")));
  box.append(note);
  announce(`Safety notice about ${persona.name}`);
}

/** The report form: a category, an optional note, and the messages to include. */
export function reportView(personaId) {
  const lines = linesFrom(personaId);
  const suggested = state.reportHint;
  state.reportHint = null;
  const status = h("p", { role: "status" });
  const signalCategory = { coercion: "coercion", minor: "minor", solicitation: "solicitation" };
  const select = h("select", { name: "category", id: "report-category" },
    CATEGORIES.map(([value, label]) => h("option", {
      value, selected: value === (signalCategory[suggested] || "harassment") }, label)));
  const picks = lines.map((line, i) => h("li", {},
    h("input", { type: "checkbox", id: `ev-${i}`, checked: true }), " ",
    h("label", { for: `ev-${i}` }, line.text.length > 120 ? `${line.text.slice(0, 120)}…` : line.text)));
  const note = h("textarea", { name: "note", id: "report-note", rows: 3 });
  const submit = h("button", { type: "submit" }, "Send the report");
  const formEl = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const evidence = lines.filter((_, i) => document.getElementById(`ev-${i}`).checked);
      const result = await api("POST", "/reports", { persona_id: state.persona.id,
        category: select.value, target: evidence.length ? "message" : "persona",
        target_id: personaId, note: note.value || null, evidence });
      status.textContent = `Reported. The moderators have it (${result.verified} message` +
        `${result.verified === 1 ? "" : "s"} verified as sent to you).`;
    } catch (err) {
      status.textContent = problem(err);
      submit.disabled = false;
    }
  } },
    h("div", { class: "field" }, h("label", { for: "report-category" }, "What is happening"), select),
    lines.length ? h("fieldset", {}, h("legend", {}, "Messages to include (only what you choose is sent)"),
      h("ul", { class: "evidence" }, picks)) : h("p", { class: "hint" }, "No messages from them are on this page; the report will be about the persona."),
    h("div", { class: "field" }, h("label", { for: "report-note" }, "Anything the moderators should know (optional)"), note),
    submit, status);
  return h("section", { "aria-labelledby": "report-title" },
    h("h2", { id: "report-title" }, "Report"),
    h("p", { class: "hint" }, "Moderators see only what you include here. Messages are checked against the server's tags, so they can trust them."),
    formEl);
}
