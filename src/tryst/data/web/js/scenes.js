// Scenes: propose with a card, read it against your own limits, agree channel by channel,
// talk, and stop at any moment (the STOP button in the page's bar is always there while a
// scene runs; yellow and leave are here).
import { api } from "./net.js";
import { h } from "./markup.js";
import { announce, go, problem, render, showError, state, streamLines, tagName } from "./app.js";
import { decode, safely, views } from "./views.js";

const CHANNELS = [
  ["text", "Text"], ["images", "Images"], ["camera", "Camera"], ["device", "Device control"],
  ["logging", "Keep a log (encrypted; anyone can shred it later)"],
];

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
        tags: data.getAll("tag"), channels: picked(data, "ch") });
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
      const result = await state.conn.send("accept_scene", { scene: scene.id, version: scene.card.version, choices });
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
        tags: data.getAll("tag"), channels: picked(data, "cc") });
      state.scenes.set(scene.id, result.scene);
      announce("Your changed card was sent: everyone is asked again.");
      render();
    } catch (err) { showError(el, err); }
  });
  return h("details", {}, h("summary", {}, "Suggest changes instead"), el);
}

function consentControls(scene) {
  const mine = Object.keys(scene.me.grants);
  return h("fieldset", { class: "grants" }, h("legend", {}, "What you share now"),
    scene.card.channels.map((c) => h("div", { class: "check" },
      h("input", { type: "checkbox", id: `grant-${c}`, checked: mine.includes(c), onchange: async (e) => {
        try {
          const type = e.target.checked ? "grant" : "revoke";
          const result = await state.conn.send(type, { scene: scene.id, channel: c });
          state.scenes.set(scene.id, result.scene);
          announce(e.target.checked ? `You share ${c} again.` : `You stopped sharing ${c}.`);
        } catch (err) { e.target.checked = !e.target.checked; announce(problem(err)); }
      } }), h("label", { for: `grant-${c}` }, c))));
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
  const parts = [h("h2", {}, `Scene: ${scene.card.title}`), h("p", { class: "status-line" }, `Status: ${scene.status}`), card(scene)];
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
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "yellow", onclick: safely(async () => {
          await state.conn.send("yellow", { scene: id });
          announce("Yellow: you asked everyone to slow down.");
        }) }, "Yellow: slow down"),
        leave),
      consentControls(scene));
  } else parts.push(leave);
  return h("section", { class: "chat scene" }, ...parts);
}

function refresh() {
  const [name, id] = state.route.split("/");
  if (name === "scene" && id) {
    // Keep what the person is typing: only rebuild when the scene's shape changed.
    const scene = state.scenes.get(id);
    const key = scene ? `${scene.id}|${scene.status}|${scene.me.state}|${scene.card.version}|${scene.waiting_for.join()}|${Object.keys(scene.me.grants).join()}|${scene.participants.map((p) => p.state).join()}` : "gone";
    const main = document.getElementById("view");
    if (main.dataset.sceneKey === key) return;
    const typing = main.querySelector("textarea")?.value;
    render();
    main.dataset.sceneKey = key;
    const box = main.querySelector("textarea");
    if (box && typing) box.value = typing;
  } else if (name === "scenes") render();
}

function route(name, id) {
  if (name === "scenes") return list();
  if (name === "propose") return propose(decode(id) || null);
  if (name === "scene") return detail(id);
  return null;
}

export const sceneViews = { route, refresh };
