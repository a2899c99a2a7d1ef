// Scenes: propose with a card, read it against your own limits, agree channel by channel,
// talk, and stop at any moment (the STOP button in the page's bar is always there while a
// scene runs; yellow and leave are here).
import { api } from "./net.js";
import { h } from "./markup.js";
import { announce, go, problem, render, showError, state, streamLines, tagName } from "./app.js";
import { decode, safely, views, when } from "./views.js";
import { shareButton } from "./images.js";

const CHANNELS = [
  ["text", "Text"], ["images", "Images"], ["camera", "Camera"], ["device", "Device control"],
  ["logging", "Keep a log (encrypted; anyone can shred it later)"],
];

const SHORT = { text: "Text", images: "Images", camera: "Camera", device: "Device control",
  logging: "Logging" };

// How long a grant lasts (the server allows 1 minute to 24 hours; 4 hours by default).
const DURATIONS = [[30, "30 minutes"], [60, "1 hour"], [240, "4 hours"], [1440, "24 hours"]];
let chosenMinutes = 240; // what this page last chose, kept across re-renders

function durationField(id, label, hint) {
  const select = h("select", { id, name: "minutes", onchange: (e) => { chosenMinutes = Number(e.target.value); } },
    DURATIONS.map(([m, text]) => h("option", { value: m, selected: m === chosenMinutes }, text)));
  return h("div", { class: "field" }, h("label", { for: id }, label), select,
    hint ? h("small", {}, hint) : null);
}

function channelBoxes(prefix, chosen, only) {
  return h("fieldset", { class: "channels" }, h("legend", {}, "Channels"),
    CHANNELS.filter(([c]) => !only || only.includes(c)).map(([c, label]) => h("div", { class: "check" },
      h("input", { type: "checkbox", name: `${prefix}:${c}`, id: `${prefix}-${c}`, checked: chosen.includes(c) }),
      h("label", { for: `${prefix}-${c}` }, label))));
}

function picked(data, prefix) {
  return CHANNELS.map(([c]) => c).filter((c) => data.get(`${prefix}:${c}`));
}

function tagBoxes() {
  return h("fieldset", { class: "scene-tags" }, h("legend", {}, "What the scene will include"),
    state.tags.map((cat) => h("div", { class: "category" }, h("h4", {}, cat.name),
      cat.tags.map((t) => h("span", { class: "check" },
        h("input", { type: "checkbox", name: "tag", value: t.id, id: `tag-${t.id}` }),
        h("label", { for: `tag-${t.id}` }, t.name))))));
}

function propose(personaId) {
  const el = h("form", { class: "propose" });
  el.append(
    h("h2", {}, "Propose a scene"),
    h("p", { class: "hint" }, "Everyone invited sees this card against their own limits and agrees channel by channel. Nothing starts until they do."),
    h("div", { class: "field" }, h("label", { for: "scene-who" }, "Invite (persona names, comma-separated)"),
      h("input", { id: "scene-who", name: "who", required: true })),
    h("div", { class: "field" }, h("label", { for: "scene-title" }, "Title"),
      h("input", { id: "scene-title", name: "title", required: true, maxlength: 100 })),
    tagBoxes(), channelBoxes("ch", ["text"]),
    durationField("propose-minutes", "Your channels last",
      "You can renew them, or stop any of them, at any time."),
    h("button", { type: "submit" }, "Send proposal"));
  if (personaId) {
    api("GET", `/personas/${encodeURIComponent(personaId)}`).then((p) => { el.who.value = p.name; })
      .catch(() => {});
  }
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(el);
    try {
      const names = data.get("who").split(",").map((s) => s.trim()).filter(Boolean);
      const ids = [];
      for (const name of names) ids.push((await api("GET", `/personas/by-name/${encodeURIComponent(name)}`)).id);
      const result = await state.conn.send("propose_scene", { personas: ids, title: data.get("title"),
        tags: data.getAll("tag"), channels: picked(data, "ch"), minutes: Number(data.get("minutes")) });
      state.scenes.set(result.scene.id, result.scene);
      go(`scene/${result.scene.id}`);
    } catch (err) { showError(el, err); }
  });
  return el;
}

function logList() {
  const list = h("ul", { class: "cards", "aria-label": "Kept logs" }, h("li", {}, "Loading…"));
  state.conn.send("logs").then((result) => {
    list.replaceChildren(...(result.logs.length ? result.logs.map((log) => {
      const names = log.participants.map((p) => p.name).join(", ");
      if (log.shredded_at) {
        return h("li", {}, `A log with ${names}: shredded, nobody can read it any more.`);
      }
      const link = (format, label) => h("a", { class: "button", download: "",
        href: `/api/v1/scene-logs/${encodeURIComponent(log.id)}/export?format=${format}` }, label);
      return h("li", {}, h("strong", {}, log.title), ` · with ${names}`,
        h("div", { class: "buttons" }, link("text", "Download as text"), link("html", "Download as a web page"),
          h("button", { type: "button", class: "danger", onclick: safely(async () => {
            await state.conn.send("withdraw_log", { log: log.id });
            announce("The log was shredded for everyone.");
            render();
          }) }, "Shred this log")),
        h("p", { class: "hint" }, "Each download carries an invisible fingerprint that tells which download a leaked copy came from."));
    }) : [h("li", {}, "No logs: a scene is kept only when everyone in it turns logging on.")]));
  }).catch((err) => list.replaceChildren(h("li", { class: "error" }, problem(err))));
  return list;
}

function list() {
  const scenes = [...state.scenes.values()];
  return h("section", {}, h("h2", {}, "Scenes"),
    h("p", {}, h("a", { href: "#propose", class: "button" }, "Propose a scene")),
    scenes.length ? h("ul", { class: "cards" }, scenes.map((s) => h("li", {},
      h("a", { href: `#scene/${s.id}` }, s.card.title), ` · ${s.status}`,
      s.me.state === "invited" ? h("span", { class: "badge" }, "waiting for your answer") : null)))
      : h("p", {}, "No scenes yet."),
    h("h3", {}, "Kept logs"), logList());
}

function card(scene) {
  const conflicts = new Set(scene.conflicts);
  return h("div", { class: "card" },
    h("h3", {}, scene.card.title, scene.card.version > 1 ? ` (version ${scene.card.version})` : ""),
    scene.card.tags.length ? h("ul", { class: "tags" }, scene.card.tags.map((t) => conflicts.has(t)
      ? h("li", { class: "conflict" }, h("strong", {}, tagName(t)), " — conflicts with your limits")
      : h("li", {}, tagName(t)))) : h("p", { class: "hint" }, "No content tags."),
    conflicts.size ? h("p", { class: "warning", role: "note" },
      `${conflicts.size} of these ${conflicts.size === 1 ? "is" : "are"} on your no list or among your hard limits.`) : null,
    h("p", {}, "Channels: ", scene.card.channels.join(", ")),
    h("ul", { class: "participants" }, scene.participants.map((p) => h("li", {},
      `${p.persona.name} · ${p.state}`, p.channels.length ? ` · shares ${p.channels.join(", ")}` : ""))));
}

function answer(scene) {
  const el = h("form", { class: "answer" },
    h("h3", {}, "Your answer"),
    h("p", { class: "hint" }, "Choose each channel. You can change any of them later, or leave at any time."),
    channelBoxes("ans", scene.card.channels.filter((c) => c === "text"), scene.card.channels),
    durationField("answer-minutes", "What you share lasts", "Renew it later if you want more time."),
    h("div", { class: "buttons" },
      h("button", { type: "submit" }, "Accept with these channels"),
      h("button", { type: "button", onclick: async () => {
        try {
          await state.conn.send("decline_scene", { scene: scene.id });
          state.scenes.delete(scene.id);
          go("scenes");
        } catch (err) { showError(el, err); }
      } }, "Decline")));
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(el);
    const choices = Object.fromEntries(scene.card.channels.map((c) => [c, Boolean(data.get(`ans:${c}`))]));
    try {
      const result = await state.conn.send("accept_scene", { scene: scene.id, version: scene.card.version, choices,
        minutes: Number(data.get("minutes")) });
      state.scenes.set(scene.id, result.scene);
      render();
    } catch (err) { showError(el, err); }
  });
  return el;
}

// An invitee who would say yes to a different scene proposes the change: everyone who had
// accepted is asked again.
function counter(scene) {
  const el = h("form", { class: "counter" },
    h("div", { class: "field" }, h("label", { for: "counter-title" }, "Title"),
      h("input", { id: "counter-title", name: "title", required: true, maxlength: 100, value: scene.card.title })),
    tagBoxes(), channelBoxes("cc", scene.card.channels),
    durationField("counter-minutes", "Your channels last"),
    h("button", { type: "submit" }, "Propose this instead"));
  for (const tag of scene.card.tags) {
    const box = el.querySelector(`#tag-${CSS.escape(tag)}`);
    if (box) box.checked = true;
  }
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(el);
    try {
      const result = await state.conn.send("counter_scene", { scene: scene.id, title: data.get("title"),
        tags: data.getAll("tag"), channels: picked(data, "cc"), minutes: Number(data.get("minutes")) });
      state.scenes.set(scene.id, result.scene);
      announce("Your changed card was sent: everyone is asked again.");
      render();
    } catch (err) { showError(el, err); }
  });
  return h("details", {}, h("summary", {}, "Suggest changes instead"), el);
}

// One's own grants that have not lapsed (the server lists a lapsed grant until it is
// renewed or revoked; its time says it is over).
function liveGrants(scene) {
  const now = Date.now();
  return Object.entries(scene.me.grants).filter(([, g]) => Date.parse(g.until) > now).map(([c]) => c);
}

// Each channel of the card: shared until when, or not; share it, renew it, stop it.
function consentControls(scene) {
  const live = new Set(liveGrants(scene));
  const box = h("section", { class: "grants", "aria-labelledby": "grants-heading" });
  const change = async (type, c) => {
    const label = SHORT[c] || c;
    try {
      const fields = { scene: scene.id, channel: c };
      if (type === "grant") fields.minutes = chosenMinutes;
      const result = await state.conn.send(type, fields);
      state.scenes.set(scene.id, result.scene);
      box.querySelector(".error")?.remove();
      const until = result.scene.me.grants[c]?.until;
      announce(type === "grant" ? `You share ${label} until ${when(until)}.` : `You stopped sharing ${label}.`);
      refresh();
    } catch (err) { showError(box, err); }
  };
  box.append(h("h3", { id: "grants-heading" }, "What you share now"),
    durationField("grant-minutes", "Share or renew for"),
    h("ul", { class: "grant-list" }, scene.card.channels.map((c) => {
      const label = SHORT[c] || c;
      const g = scene.me.grants[c];
      const state_ = live.has(c)
        ? ["shared until ", h("time", { datetime: g.until }, when(g.until))]
        : g ? ["lapsed at ", h("time", { datetime: g.until }, when(g.until))] : ["not shared"];
      return h("li", { "data-channel": c }, h("strong", {}, label), ": ",
        h("span", { class: "grant-state" }, ...state_), " ",
        h("span", { class: "buttons" }, live.has(c) ? [
          h("button", { type: "button", onclick: () => change("grant", c) }, `Renew ${label}`),
          h("button", { type: "button", class: "danger", onclick: () => change("revoke", c) },
            c === "logging" ? "Stop logging (shreds the log)" : `Stop sharing ${label}`),
        ] : h("button", { type: "button", onclick: () => change("grant", c) }, `Share ${label}`)));
    })));
  return box;
}

// A grant that lapses changes what the page should show: look again then.
let lapseTimer = null;
function watchLapses(scene) {
  clearTimeout(lapseTimer);
  const now = Date.now();
  const next = Object.values(scene.me.grants).map((g) => Date.parse(g.until)).filter((t) => t > now);
  if (next.length) lapseTimer = setTimeout(refresh, Math.min(Math.min(...next) - now + 500, 2 ** 31 - 1));
}

function paused(scene) {
  const red = streamLines(scene.stream).filter((e) => e.kind === "red").at(-1);
  const waiting = scene.waiting_for.includes(state.persona.id);
  return h("div", { class: "paused", role: "alert" },
    h("h3", {}, "Paused: red was called"),
    h("p", {}, red?.data?.check_in || "The scene is paused for everyone."),
    waiting ? h("button", { type: "button", onclick: safely(async () => {
      const result = await state.conn.send("resume_scene", { scene: scene.id });
      state.scenes.set(scene.id, result.scene);
      render();
    }) }, "I'm OK: resume") : h("p", {}, "You confirmed. Waiting for the others."));
}

function detail(id) {
  const scene = state.scenes.get(id);
  const main = document.getElementById("view");
  if (!scene) return h("section", {}, h("h2", {}, "Scene"), h("p", {}, "This scene has ended or is not yours."),
    h("a", { href: "#scenes" }, "Back to scenes"));
  main.dataset.stream = scene.stream;
  const running = scene.status === "active" || scene.status === "paused";
  const leave = h("button", { type: "button", onclick: safely(async () => {
    await state.conn.send("leave_scene", { scene: id });
    state.scenes.delete(id);
    go("scenes");
  }) }, "Leave scene");
  // While it runs, what one shares (and until when) sits beside the card, always in view.
  const parts = [h("h2", {}, `Scene: ${scene.card.title}`), h("p", { class: "status-line" }, `Status: ${scene.status}`),
    running ? h("div", { class: "two scene-top" }, card(scene), consentControls(scene)) : card(scene)];
  if (scene.me.state === "invited") parts.push(answer(scene), counter(scene));
  if (scene.status === "proposed" && scene.proposer === state.persona.id) {
    parts.push(h("button", { type: "button", onclick: async () => {
      try {
        const result = await state.conn.send("start_scene", { scene: id });
        state.scenes.set(id, result.scene);
        render();
      } catch (err) { announce(problem(err)); }
    } }, "Start with those who accepted"));
  }
  if (scene.status === "paused") parts.push(paused(scene));
  if (running) {
    parts.push(views.log(scene.stream),
      views.composer(({ style, text }) => state.conn.send("scene_send", { scene: id, text, style }),
                     { label: "Scene message" }),
      scene.card.channels.includes("images") ? shareButton(state.persona.id,
        (media, options) => state.conn.send("post_image", { media, scene: id, ...options })) : null,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "yellow", onclick: safely(async () => {
          await state.conn.send("yellow", { scene: id });
          announce("Yellow: you asked everyone to slow down.");
        }) }, "Yellow: slow down"),
        leave));
    watchLapses(scene);
  } else parts.push(leave);
  return h("section", { class: "chat scene" }, ...parts);
}

function refresh() {
  const [name, id] = state.route.split("/");
  if (name === "scene" && id) {
    // Keep what the person is typing: only rebuild when the scene's shape changed.
    const scene = state.scenes.get(id);
    const grants = scene ? Object.entries(scene.me.grants).map(([c, g]) => `${c}@${g.until}`).join() : "";
    const key = scene ? `${scene.id}|${scene.status}|${scene.me.state}|${scene.card.version}|${scene.waiting_for.join()}|${grants}|${liveGrants(scene).join()}|${scene.participants.map((p) => `${p.state}:${p.channels.join("+")}`).join()}` : "gone";
    const main = document.getElementById("view");
    if (main.dataset.sceneKey === key) return;
    const typing = main.querySelector("textarea")?.value;
    // Keep the keyboard where it was: the same control, or its channel's row.
    const active = main.contains(document.activeElement) ? document.activeElement : null;
    const focusId = active?.id;
    const focusText = active?.tagName === "BUTTON" ? active.textContent : null;
    const channel = active?.closest("[data-channel]")?.dataset.channel;
    render();
    main.dataset.sceneKey = key;
    const box = main.querySelector("textarea");
    if (box && typing) box.value = typing;
    if (active) {
      const again = (focusId && document.getElementById(focusId))
        || [...main.querySelectorAll("button")].find((b) => b.textContent === focusText)
        || (channel && main.querySelector(`[data-channel="${CSS.escape(channel)}"] button`));
      if (again) again.focus();
    }
  } else if (name === "scenes") render();
}

function route(name, id) {
  if (name === "scenes") return list();
  if (name === "propose") return propose(decode(id) || null);
  if (name === "scene") return detail(id);
  return null;
}

export const sceneViews = { route, refresh };
