// The playground page: a small Discord client for one person ("you"), talking to the playground's API.
// Everything it shows comes from the loopback Discord over a websocket; every action is one API call.
"use strict";

const MAGNIFIER = "\u{1F50E}";
const TYPING_MS = 10000;

const S = {
  you: null, bot: null, guild: null, dm: null, users: {}, members: [], messages: new Map(), commands: { slash: [], message: [] },
  channel: null, view: "chat", botStatus: { status: "starting", detail: "" }, messageContent: true,
  knowledge: null, unread: new Set(), typing: new Map(),
  replyTo: null, editing: null,
  command: null, options: {}, focused: null,
  sugg: { kind: null, items: [], index: 0 },
  kbSelected: null, kbLast: null,
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "html") node.innerHTML = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") node.setAttribute("style", v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
};

// ---------------------------------------------------------------- API

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  let data = {};
  try { data = await resp.json(); } catch (e) { data = {}; }
  if (!resp.ok && resp.status !== 422) throw new Error(data.error || `The playground answered ${resp.status}.`);
  return data;
}

function notice(text) {
  const box = $("#composer-notice");
  box.textContent = text;
  box.hidden = !text;
  if (text) setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 6000);
}

async function act(fn) {
  try { return await fn(); } catch (err) { notice(err.message); return null; }
}

// ---------------------------------------------------------------- markdown (Discord's subset)

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function safeUrl(url) {
  return /^https?:\/\//i.test(url) ? url.replace(/"/g, "%22") : null;
}

function inline(text, opts) {
  // text is already HTML-escaped; code spans were taken out before.
  text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g, (m, label, url) =>
    opts.links ? `<a href="${safeUrl(url)}" target="_blank" rel="noopener noreferrer">${label}</a>` : m);
  text = text.replace(/(^|[\s(])(https?:\/\/[^\s<]+[^\s<.,:;"')\]])/g, (m, pre, url) =>
    `${pre}<a href="${safeUrl(url)}" target="_blank" rel="noopener noreferrer">${url}</a>`);
  text = text.replace(/\*\*([^*]+?)\*\*/g, "<strong>$1</strong>");
  text = text.replace(/__([^_]+?)__/g, "<u>$1</u>");
  text = text.replace(/(^|[^*\w])\*([^*\n]+?)\*(?!\w)/g, "$1<em>$2</em>");
  text = text.replace(/(^|[^_\w])_([^_\n]+?)_(?!\w)/g, "$1<em>$2</em>");
  text = text.replace(/~~([^~]+?)~~/g, "<s>$1</s>");
  text = text.replace(/&lt;@!?(\d+)&gt;/g, (m, id) => `<span class="mention">@${escapeHtml(userName(id))}</span>`);
  text = text.replace(/&lt;#(\d+)&gt;/g, (m, id) => `<span class="mention">#${escapeHtml(channelName(id))}</span>`);
  text = text.replace(/@(everyone|here)/g, '<span class="mention">@$1</span>');
  return text;
}

function markdown(source, opts = { links: false }) {
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
  let text = source.replace(/```(?:([\w+-]+)\n)?([\s\S]*?)```/g, (m, lang, code) =>
    keep(`<pre><code>${escapeHtml(code.replace(/^\n|\n$/g, ""))}</code></pre>`));
  text = text.replace(/``([^`]+?)``|`([^`\n]+?)`/g, (m, a, b) => keep(`<code>${escapeHtml(a ?? b)}</code>`));
  text = escapeHtml(text);
  const out = [];
  let list = null;
  for (const line of text.split("\n")) {
    const item = line.match(/^\s*[-*•] (.*)$/);
    if (item) {
      if (!list) { list = []; }
      list.push(`<li>${inline(item[1], opts)}</li>`);
      continue;
    }
    if (list) { out.push(`<ul class="md-list">${list.join("")}</ul>`); list = null; }
    const heading = line.match(/^(#{1,3}) (.*)$/);
    if (heading) out.push(`<div class="md-h${heading[1].length}">${inline(heading[2], opts)}</div>`);
    else if (line.startsWith("&gt; ")) out.push(`<blockquote>${inline(line.slice(5), opts)}</blockquote>`);
    else out.push(inline(line, opts) + "\n");
  }
  if (list) out.push(`<ul class="md-list">${list.join("")}</ul>`);
  let html = out.join("").replace(/\n$/, "");
  html = html.replace(/\n(<ul|<div|<blockquote)/g, "$1");
  return html.replace(/\u0000(\d+)\u0000/g, (m, i) => stash[Number(i)]);
}

// ---------------------------------------------------------------- names and colours

function userName(id) {
  return (S.users[id] && S.users[id].name) || "unknown-user";
}
function channelName(id) {
  const ch = S.guild && S.guild.channels.find((c) => c.id === id);
  return ch ? ch.name : "unknown-channel";
}
const AVATAR_COLOURS = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#747f8d"];
function avatarColour(id, bot) {
  if (bot) return "#5865f2";
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return AVATAR_COLOURS[h % AVATAR_COLOURS.length];
}
function timeLabel(iso) {
  const d = new Date(iso);
  return `Today at ${d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}
function hexColour(value) {
  return value === undefined || value === null ? null : "#" + Number(value).toString(16).padStart(6, "0");
}
function compareIds(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

// ---------------------------------------------------------------- embeds and components

function renderEmbed(embed) {
  const node = el("div", { class: "embed", style: embed.color !== undefined ? `border-left-color:${hexColour(embed.color)}` : null });
  if (embed.author && embed.author.name) node.append(el("div", { class: "embed-author", text: embed.author.name }));
  if (embed.title) {
    const title = el("div", { class: "embed-title" });
    if (embed.url && safeUrl(embed.url)) title.append(el("a", { href: safeUrl(embed.url), target: "_blank", rel: "noopener noreferrer", html: markdown(embed.title) }));
    else title.innerHTML = markdown(embed.title);
    node.append(title);
  }
  if (embed.description) node.append(el("div", { class: "embed-description", html: markdown(embed.description, { links: true }) }));
  if (embed.fields && embed.fields.length) {
    const fields = el("div", { class: "embed-fields" });
    // Discord puts up to three consecutive inline fields on one row; others take the whole row.
    const rows = [];
    for (const field of embed.fields) {
      const last = rows[rows.length - 1];
      if (field.inline && last && last.inline && last.items.length < 3) last.items.push(field);
      else rows.push({ inline: !!field.inline, items: [field] });
    }
    for (const row of rows) {
      const span = 12 / row.items.length;
      row.items.forEach((field, i) => {
        fields.append(el("div", { class: "embed-field" + (field.inline ? " inline" : ""), style: `grid-column:${1 + i * span} / ${1 + (i + 1) * span}` },
          el("div", { class: "embed-field-name", html: markdown(field.name) }),
          el("div", { class: "embed-field-value", html: markdown(field.value, { links: true }) })));
      });
    }
    node.append(fields);
  }
  if (embed.footer && embed.footer.text) node.append(el("div", { class: "embed-footer", text: embed.footer.text }));
  return node;
}

function renderComponents(message, onButton, onSelect) {
  const box = el("div", { class: "components" });
  for (const row of message.components || []) {
    const rowNode = el("div", { class: "action-row" });
    for (const c of row.components || []) {
      if (c.type === 2) {
        const label = [c.emoji && c.emoji.name, c.label].filter(Boolean).join(" ");
        if (c.style === 5 && safeUrl(c.url || "")) {
          rowNode.append(el("a", { class: "component style-5", href: safeUrl(c.url), target: "_blank", rel: "noopener noreferrer", text: label + " ↗" }));
          continue;
        }
        const button = el("button", { type: "button", class: `component style-${c.style || 2}`, disabled: !!c.disabled, "data-custom-id": c.custom_id, text: label });
        button.addEventListener("click", () => onButton(c, button));
        rowNode.append(button);
      } else if ([3, 5, 6, 7, 8].includes(c.type)) {
        const select = el("select", { class: "component-select", disabled: !!c.disabled, "data-custom-id": c.custom_id },
          el("option", { value: "", text: c.placeholder || "Make a selection" }),
          (c.options || []).map((o) => el("option", { value: o.value, text: o.label, selected: !!o.default })));
        select.addEventListener("change", () => { if (select.value) onSelect(c, [select.value], select); });
        rowNode.append(select);
      }
    }
    box.append(rowNode);
  }
  return box;
}

// ---------------------------------------------------------------- messages

function messageNode(m, { preview = false } = {}) {
  const isYou = m.author.id === S.you;
  const node = el("li", { class: "message" + (m.ephemeral ? " ephemeral" : ""), id: preview ? null : `m-${m.id}`, "data-id": m.id, "data-author": m.author.name });
  let context = null;
  if (m.reply_to) {
    context = el("div", { class: "msg-context" },
      el("span", { class: "ctx-name", text: "@" + m.reply_to.author }),
      el("span", { class: "ctx-text", html: markdown(m.reply_to.content || "Click to see attachment"), onclick: () => jumpTo(m.reply_to.id) }));
  } else if (m.command) {
    context = el("div", { class: "msg-context" },
      el("span", { class: "ctx-name", text: userName(m.command.user_id) }),
      el("span", { text: m.command.name === "Explain this message" ? "used Explain this message" : `used /${m.command.name}` }));
  }
  if (context) { node.classList.add("has-context"); node.append(context); }
  node.append(el("div", { class: "avatar", style: `background:${avatarColour(m.author.id, m.author.bot)}`, text: m.author.name[0].toUpperCase() }));
  const body = el("div", { class: "msg-body" });
  body.append(el("div", { class: "msg-header" },
    el("span", { class: "author" + (isYou ? " is-you" : "") + (m.author.bot ? " is-bot" : ""), text: m.author.name }),
    m.author.bot ? el("span", { class: "bot-tag", text: "App" }) : null,
    el("time", { datetime: m.timestamp, text: timeLabel(m.timestamp) })));
  if (S.editing === m.id && !preview) {
    const box = el("textarea", { class: "edit-box", rows: 2 });
    box.value = m.content;
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { S.editing = null; redraw(m.id); }
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); saveEdit(m.id, box.value); }
    });
    body.append(box, el("div", { class: "edit-hint", text: "escape to cancel • enter to save" }));
    setTimeout(() => { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }, 0);
  } else if (m.loading) {
    body.append(el("div", { class: "content loading-text", text: `${m.author.name} is thinking…` }));
  } else if (m.content) {
    const content = el("div", { class: "content", html: markdown(m.content) });
    if (m.edited) content.append(el("span", { class: "edited", text: "(edited)" }));
    body.append(content);
  }
  if (m.embeds && m.embeds.length) body.append(el("div", { class: "embeds" }, m.embeds.map(renderEmbed)));
  if (m.components && m.components.length) {
    body.append(preview
      ? renderComponents(m, previewButton, () => {})
      : renderComponents(m, (c, button) => pressButton(m, c, button), (c, values, select) => choose(m, c, values, select)));
  }
  if (m.reactions && m.reactions.length) {
    body.append(el("div", { class: "reactions" }, m.reactions.map((r) =>
      el("button", { type: "button", class: "reaction" + (r.me ? " me" : ""), "data-emoji": r.emoji, title: r.me ? "Remove your reaction" : "React",
        onclick: () => toggleReaction(m, r) }, el("span", { text: r.emoji }), el("span", { class: "count", text: String(r.count) })))));
  }
  if (m.ephemeral) {
    body.append(el("div", { class: "ephemeral-note" }, "👁 Only you can see this • ",
      el("a", { class: "dismiss", onclick: () => deleteMessage(m.id) , text: "Dismiss message" })));
  }
  if (m.failed) body.append(el("div", { class: "failed-note", text: m.failed }));
  node.append(body);
  if (!preview) {
    node.append(toolbar(m));
    node.addEventListener("contextmenu", (ev) => { ev.preventDefault(); openMenu(m, ev.clientX, ev.clientY); });
  }
  return node;
}

function toolbar(m) {
  const bar = el("div", { class: "toolbar" });
  const add = (label, title, fn, cls) => bar.append(el("button", { type: "button", title, "aria-label": title, class: cls, text: label, onclick: fn }));
  if (!m.ephemeral) add(MAGNIFIER, `React with ${MAGNIFIER}`, () => addReaction(m, MAGNIFIER), "tb-react");
  if (!m.ephemeral) add("↩", "Reply", () => startReply(m), "tb-reply");
  if (m.author.id === S.you) {
    add("✎", "Edit", () => { S.editing = m.id; redraw(m.id); }, "tb-edit");
    add("🗑", "Delete", () => confirmDelete(m.id), "tb-delete");
  }
  add("⋯", "More", (ev) => { const r = ev.target.getBoundingClientRect(); openMenu(m, r.left - 150, r.bottom); }, "tb-more");
  return bar;
}

function visibleInChannel(m) {
  return m.channel_id === S.channel;
}

function renderMessages() {
  const list = $("#messages");
  list.replaceChildren();
  const ordered = [...S.messages.values()].filter(visibleInChannel).sort((a, b) => compareIds(a.id, b.id));
  for (const m of ordered) list.append(messageNode(m));
  scrollDown(true);
}

function redraw(id) {
  const m = S.messages.get(id);
  const old = document.getElementById(`m-${id}`);
  if (!m) { if (old) old.remove(); return; }
  if (!visibleInChannel(m)) return;
  const fresh = messageNode(m);
  if (old) old.replaceWith(fresh);
  else {
    const list = $("#messages");
    const after = [...list.children].find((n) => compareIds(n.dataset.id, id) > 0);
    const stick = nearBottom();
    list.insertBefore(fresh, after || null);
    if (stick || m.author.id === S.you) scrollDown(true);
  }
}

function nearBottom() {
  const s = $("#scroller");
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}
function scrollDown(force) {
  const s = $("#scroller");
  if (force || nearBottom()) s.scrollTop = s.scrollHeight;
}
function jumpTo(id) {
  const node = document.getElementById(`m-${id}`);
  if (!node) return;
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), 1500);
}

// ---------------------------------------------------------------- channels and views

function allChannels() {
  return [...S.guild.channels.map((c) => ({ ...c, kind: "guild" })), { id: S.dm.id, name: S.dm.name, kind: "dm" }];
}

function renderSidebar() {
  const make = (c) => {
    const button = el("button", { type: "button", class: "channel" + (S.view === "chat" && S.channel === c.id ? " active" : "") + (S.unread.has(c.id) ? " unread" : ""),
      "data-channel": c.id, "data-name": c.name, onclick: () => openChannel(c.id) },
      el("span", { class: "hash", text: c.kind === "dm" ? "@" : "#" }), el("span", { text: c.name }),
      c.watched ? el("span", { class: "badge", title: `${S.bot.name} watches this channel and offers ${MAGNIFIER} on messages it can explain`, text: `${MAGNIFIER} watched` }) : null);
    return button;
  };
  $("#guild-channels").replaceChildren(...S.guild.channels.map((c) => make({ ...c, kind: "guild" })));
  $("#dm-channels").replaceChildren(make({ id: S.dm.id, name: S.dm.name, kind: "dm" }));
  $("#open-kb").classList.toggle("active", S.view === "kb");
  $("#home-icon").classList.toggle("active", S.view === "chat" && S.channel === S.dm.id);
  $("#server-icon").classList.toggle("active", !(S.view === "chat" && S.channel === S.dm.id));
}

function openChannel(id) {
  S.view = "chat";
  S.channel = id;
  S.unread.delete(id);
  S.replyTo = null;
  S.editing = null;
  leaveCommand();
  $("#chat").hidden = false;
  $("#kb").hidden = true;
  const c = allChannels().find((x) => x.id === id);
  const isDm = c.kind === "dm";
  $("#chat-hash").textContent = isDm ? "@" : "#";
  $("#chat-name").textContent = c.name;
  $("#chat-topic").textContent = isDm
    ? `Any message here is a question for ${S.bot.name}.`
    : c.watched
      ? (S.messageContent ? `Watched: ${S.bot.name} adds ${MAGNIFIER} to messages it can explain; click it for the answer.` : "Watched, but the bot runs without the message-content intent, so watching is off.")
      : `Mention @${S.bot.name}, run /explain, or right-click a message → Apps → Explain this message.`;
  $("#channel-intro").replaceChildren(
    el("div", { class: "intro-icon", text: isDm ? S.bot.name[0].toUpperCase() : "#" }),
    el("h1", { text: isDm ? S.bot.name : `Welcome to #${c.name}!` }),
    el("p", { text: isDm ? `This is the beginning of your direct message history with ${S.bot.name}. Paste an address, a port or an error.` : `This is the start of the #${c.name} channel. Try: @${S.bot.name} what is 127.0.0.1:62893?` }));
  $("#composer-input").placeholder = isDm ? `Message @${c.name}` : `Message #${c.name}`;
  updateReplyBar();
  renderSidebar();
  renderMessages();
  renderTyping();
  $("#composer-input").focus();
}

function openKnowledge() {
  S.view = "kb";
  $("#chat").hidden = true;
  $("#kb").hidden = false;
  renderSidebar();
  renderKnowledge();
}

function renderBotStatus() {
  const { status, detail } = S.botStatus;
  const box = $("#bot-status");
  box.className = "bot-status " + (status === "online" ? "online" : status === "offline" ? "offline" : "");
  const names = { online: `${S.bot ? S.bot.name : "bot"} is online`, starting: "bot starting…", restarting: "bot restarting…", offline: "bot offline", stopped: "bot not started" };
  $("#bot-status-text").textContent = names[status] || status;
  const banner = $("#banner");
  banner.hidden = status === "online";
  banner.className = status === "offline" ? "offline" : "";
  banner.textContent = status === "offline" ? `The bot is offline: ${detail || "it stopped."}` : detail || `${names[status] || status}`;
}

function renderTyping() {
  const until = S.typing.get(S.channel);
  $("#typing").innerHTML = until && until > Date.now() ? `<strong>${escapeHtml(S.bot.name)}</strong> is typing…` : "";
}

// ---------------------------------------------------------------- actions

async function sendMessage(text) {
  const body = { channel_id: S.channel, content: text };
  if (S.replyTo) body.reply_to = S.replyTo;
  const ok = await act(() => api("POST", "/api/messages", body));
  if (ok) { S.replyTo = null; updateReplyBar(); }
  return ok;
}

async function saveEdit(id, text) {
  S.editing = null;
  const m = S.messages.get(id);
  if (m && text.trim() && text !== m.content) await act(() => api("PATCH", `/api/messages/${id}`, { content: text }));
  redraw(id);
}

function confirmDelete(id) {
  const modal = $("#modal");
  modal.hidden = false;
  $("#modal-confirm").onclick = () => { modal.hidden = true; deleteMessage(id); };
  $("#modal-cancel").onclick = () => { modal.hidden = true; };
  $("#modal-confirm").focus();
}

async function deleteMessage(id) {
  await act(() => api("DELETE", `/api/messages/${id}`));
}

async function addReaction(m, emoji) {
  await act(() => api("PUT", `/api/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`));
}

async function toggleReaction(m, r) {
  const method = r.me ? "DELETE" : "PUT";
  await act(() => api(method, `/api/messages/${m.id}/reactions/${encodeURIComponent(r.emoji)}`));
}

function startReply(m) {
  S.replyTo = m.id;
  updateReplyBar();
  $("#composer-input").focus();
}

function updateReplyBar() {
  const m = S.replyTo && S.messages.get(S.replyTo);
  $("#reply-bar").hidden = !m;
  if (m) $("#reply-name").textContent = m.author.name;
}

function interactionFailed(m, text) {
  const stored = S.messages.get(m.id);
  if (!stored) return;
  stored.failed = text;
  redraw(m.id);
  setTimeout(() => { const s = S.messages.get(m.id); if (s && s.failed === text) { delete s.failed; redraw(m.id); } }, 5000);
}

async function pressButton(m, c, button) {
  button.classList.add("busy");
  const res = await act(() => api("POST", "/api/components", { message_id: m.id, custom_id: c.custom_id }));
  button.classList.remove("busy");
  if (res && !res.ok) interactionFailed(m, "This interaction failed");
}

async function choose(m, c, values, select) {
  const res = await act(() => api("POST", "/api/components", { message_id: m.id, custom_id: c.custom_id, values }));
  if (res && !res.ok) interactionFailed(m, "This interaction failed");
}

async function explainMessage(m, name) {
  const res = await act(() => api("POST", "/api/message-commands", { name, message_id: m.id }));
  if (res && !res.ok) notice(`${res.error}.`);
}

// ---------------------------------------------------------------- context menu

function openMenu(m, x, y) {
  const menu = $("#context-menu");
  const items = [];
  const item = (label, fn, cls) => items.push(el("button", { type: "button", role: "menuitem", class: cls, text: label, onclick: () => { closeMenu(); fn(); } }));
  if (!m.ephemeral) item(`Add Reaction ${MAGNIFIER}`, () => addReaction(m, MAGNIFIER));
  if (!m.ephemeral) item("Reply", () => startReply(m));
  if (m.author.id === S.you) item("Edit Message", () => { S.editing = m.id; redraw(m.id); });
  if (S.commands.message.length && !m.ephemeral) {
    items.push(el("hr"), el("div", { class: "menu-label", text: "Apps" }));
    for (const name of S.commands.message) item(name, () => explainMessage(m, name), "app-command");
  }
  if (m.author.id === S.you || m.ephemeral) { items.push(el("hr")); item(m.ephemeral ? "Dismiss Message" : "Delete Message", () => (m.ephemeral ? deleteMessage(m.id) : confirmDelete(m.id)), "danger"); }
  menu.replaceChildren(...items);
  menu.hidden = false;
  const w = menu.offsetWidth, h = menu.offsetHeight;
  menu.style.left = Math.max(4, Math.min(x, window.innerWidth - w - 4)) + "px";
  menu.style.top = Math.max(4, Math.min(y, window.innerHeight - h - 4)) + "px";
}
function closeMenu() { $("#context-menu").hidden = true; }

// ---------------------------------------------------------------- composer: slash commands and @mentions

function commandsHere() {
  const inDm = S.channel === S.dm.id;
  return S.commands.slash.filter((c) => !inDm || c.dm);
}

function showSuggestions(kind, title, items) {
  S.sugg = { kind, items, index: 0 };
  const list = $("#suggestions");
  if (!items.length) { list.hidden = true; S.sugg.kind = null; return; }
  list.replaceChildren(el("li", { class: "sugg-title", text: title }), ...items.map((it, i) =>
    el("li", { class: "option" + (i === 0 ? " selected" : ""), role: "option", "data-value": it.value,
      onmousedown: (ev) => { ev.preventDefault(); S.sugg.index = i; pickSuggestion(); } },
      el("span", { class: "sugg-main", text: it.label }), it.desc ? el("span", { class: "sugg-desc", text: it.desc }) : null)));
  list.hidden = false;
}
function hideSuggestions() { $("#suggestions").hidden = true; S.sugg.kind = null; }
function moveSuggestion(delta) {
  const n = S.sugg.items.length;
  S.sugg.index = (S.sugg.index + delta + n) % n;
  [...$("#suggestions").querySelectorAll("li.option")].forEach((li, i) => li.classList.toggle("selected", i === S.sugg.index));
}

function pickSuggestion() {
  const it = S.sugg.items[S.sugg.index];
  const kind = S.sugg.kind;
  hideSuggestions();
  if (!it) return;
  if (kind === "command") enterCommand(it.leaf);
  else if (kind === "mention") {
    const input = $("#composer-input");
    const before = input.value.slice(0, input.selectionStart).replace(/@[\w.-]*$/, `@${it.value} `);
    input.value = before + input.value.slice(input.selectionStart);
    input.focus();
  } else if (kind === "choice") {
    const box = document.querySelector(`#command-bar [data-option="${CSS.escape(S.focused)}"]`);
    S.options[S.focused] = it.value;
    if (box) { box.value = it.value; box.focus(); }
  }
}

function onComposerInput() {
  const input = $("#composer-input");
  input.style.height = "auto";
  input.style.height = input.scrollHeight + "px";
  const text = input.value;
  if (!S.command && text.startsWith("/") && !text.includes("\n")) {
    const typed = text.slice(1).toLowerCase();
    const items = commandsHere()
      .filter((c) => c.path.join(" ").startsWith(typed.trim()) || c.path[0].startsWith(typed.split(" ")[0]))
      .map((c) => ({ label: "/" + c.path.join(" "), desc: c.description, value: c.path.join(" "), leaf: c }));
    showSuggestions("command", "Commands", items);
    return;
  }
  const at = text.slice(0, input.selectionStart).match(/(?:^|\s)@([\w.-]*)$/);
  if (at && S.channel !== S.dm.id) {
    const needle = at[1].toLowerCase();
    const items = S.members.filter((id) => id !== S.you && userName(id).toLowerCase().startsWith(needle))
      .map((id) => ({ label: userName(id), desc: S.users[id].bot ? "App" : "", value: userName(id) }));
    showSuggestions("mention", "Members", items);
    return;
  }
  hideSuggestions();
}

function enterCommand(leaf) {
  S.command = leaf;
  S.options = {};
  S.focused = null;
  const input = $("#composer-input");
  input.value = "";
  input.hidden = true;
  const bar = $("#command-bar");
  bar.hidden = false;
  bar.replaceChildren(el("span", { class: "cmd-chip", text: "/" + leaf.path.join(" ") }));
  let first = null;
  for (const opt of leaf.options) {
    let field;
    if (opt.type === 5 || opt.choices.length) {
      const choices = opt.type === 5 ? [{ name: "true", value: "true" }, { name: "false", value: "false" }] : opt.choices;
      field = el("select", { "data-option": opt.name }, el("option", { value: "", text: opt.required ? "choose" : "—" }),
        choices.map((c) => el("option", { value: String(c.value), text: c.name })));
      field.addEventListener("change", () => { S.options[opt.name] = field.value; });
    } else if (opt.type === 7) {
      field = el("select", { "data-option": opt.name }, el("option", { value: "", text: "this channel" }),
        S.guild.channels.map((c) => el("option", { value: c.id, text: "#" + c.name })));
      field.addEventListener("change", () => { S.options[opt.name] = field.value; });
    } else {
      field = el("input", { "data-option": opt.name, placeholder: opt.description || opt.name, inputmode: opt.type === 4 || opt.type === 10 ? "numeric" : null });
      field.addEventListener("input", () => { S.options[opt.name] = field.value; if (opt.autocomplete) requestChoices(opt.name); });
      field.addEventListener("focus", () => { S.focused = opt.name; markFocused(); if (opt.autocomplete) requestChoices(opt.name); });
      field.addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== field) hideSuggestions(); }, 100));
    }
    field.addEventListener("keydown", commandKeys);
    const wrap = el("span", { class: "opt" + (opt.required ? " required" : ""), "data-wrap": opt.name, title: opt.description },
      el("label", { text: opt.name }), field);
    bar.append(wrap);
    if (!first) first = field;
  }
  if (first) first.focus();
  else bar.append(el("span", { class: "sugg-desc", text: "press Enter to run" }));
  if (!first) { bar.tabIndex = 0; bar.addEventListener("keydown", commandKeys); bar.focus(); }
}

function markFocused() {
  document.querySelectorAll("#command-bar .opt").forEach((w) => w.classList.toggle("focused", w.dataset.wrap === S.focused));
}

function leaveCommand() {
  S.command = null;
  S.options = {};
  $("#command-bar").hidden = true;
  $("#command-bar").replaceChildren();
  const input = $("#composer-input");
  input.hidden = false;
  input.value = "";
  hideSuggestions();
}

let choiceTimer = null;
let choiceSeq = 0;
function requestChoices(name) {
  clearTimeout(choiceTimer);
  choiceTimer = setTimeout(async () => {
    const seq = ++choiceSeq;
    const leaf = S.command;
    if (!leaf) return;
    const res = await act(() => api("POST", "/api/autocomplete", { channel_id: S.channel, path: leaf.path, options: S.options, focused: name }));
    if (!res || seq !== choiceSeq || S.command !== leaf || S.focused !== name) return;
    if (res.error) { notice(res.error); return; }
    showSuggestions("choice", name, res.choices.map((c) => ({ label: c.name, value: String(c.value), desc: c.name !== String(c.value) ? String(c.value) : "" })));
  }, 120);
}

function commandKeys(ev) {
  if (S.sugg.kind && !$("#suggestions").hidden) {
    if (ev.key === "ArrowDown") { ev.preventDefault(); moveSuggestion(1); return; }
    if (ev.key === "ArrowUp") { ev.preventDefault(); moveSuggestion(-1); return; }
    if (ev.key === "Tab") { ev.preventDefault(); pickSuggestion(); return; }
    if (ev.key === "Escape") { ev.preventDefault(); hideSuggestions(); return; }
  }
  if (ev.key === "Escape") { ev.preventDefault(); leaveCommand(); $("#composer-input").focus(); return; }
  if (ev.key === "Backspace" && ev.target.value === "" && ev.target.dataset.option === (S.command.options[0] || {}).name) {
    ev.preventDefault(); leaveCommand(); $("#composer-input").focus(); return;
  }
  if (ev.key === "Enter") {
    ev.preventDefault();
    if (S.sugg.kind === "choice" && !$("#suggestions").hidden && ev.target.value === "") { pickSuggestion(); return; }
    hideSuggestions();
    runCommand();
  }
}

async function runCommand() {
  const leaf = S.command;
  const missing = leaf.options.filter((o) => o.required && !(S.options[o.name] || "").trim());
  if (missing.length) { notice(`Fill in ${missing.map((o) => o.name).join(", ")} first.`); return; }
  const options = Object.fromEntries(Object.entries(S.options).filter(([, v]) => v !== ""));
  leaveCommand();
  $("#composer-input").focus();
  const res = await act(() => api("POST", "/api/commands", { channel_id: S.channel, path: leaf.path, options }));
  if (res && !res.ok) notice(`${res.error}.`);
}

function composerKeys(ev) {
  if (S.sugg.kind && !$("#suggestions").hidden) {
    if (ev.key === "ArrowDown") { ev.preventDefault(); moveSuggestion(1); return; }
    if (ev.key === "ArrowUp") { ev.preventDefault(); moveSuggestion(-1); return; }
    if (ev.key === "Tab" || ev.key === "Enter") { ev.preventDefault(); pickSuggestion(); return; }
    if (ev.key === "Escape") { ev.preventDefault(); hideSuggestions(); return; }
  }
  if (ev.key === "Escape" && S.replyTo) { S.replyTo = null; updateReplyBar(); return; }
  if (ev.key === "ArrowUp" && !ev.target.value) {
    const mine = [...S.messages.values()].filter((m) => m.channel_id === S.channel && m.author.id === S.you).sort((a, b) => compareIds(a.id, b.id));
    if (mine.length) { ev.preventDefault(); S.editing = mine[mine.length - 1].id; redraw(S.editing); }
    return;
  }
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    const text = ev.target.value;
    if (!text.trim()) return;
    ev.target.value = "";
    onComposerInput();
    sendMessage(text).then((ok) => { if (!ok) ev.target.value = text; });
  }
}

// ---------------------------------------------------------------- knowledge preview

function renderKnowledge() {
  const k = S.knowledge;
  if (!k) return;
  $("#kb-root").textContent = k.root;
  const err = k.error;
  $("#kb-error").hidden = !err;
  if (err) {
    $("#kb-error-file").textContent = err.file;
    $("#kb-error-entry").textContent = err.entry || "(the whole file)";
    $("#kb-error-reason").textContent = err.reason;
  }
  renderEntryList();
}

function renderEntryList() {
  const k = S.knowledge;
  const needle = $("#kb-filter").value.trim().toLowerCase();
  const list = $("#kb-entries");
  list.replaceChildren();
  let kind = null;
  for (const e of k.entries) {
    if (needle && !`${e.title} ${e.id} ${e.file}`.toLowerCase().includes(needle)) continue;
    if (e.kind !== kind) { kind = e.kind; list.append(el("li", { class: "kind", text: kind + "s" })); }
    list.append(el("li", {}, el("button", { type: "button", "data-entry": e.id, class: S.kbSelected === e.id ? "active" : null, title: e.file,
      onclick: () => previewEntry(e.id) }, e.title, el("span", { class: "entry-id", text: `${e.file} · ${e.id}` }))));
  }
}

async function previewEntry(id, os, keepNotice) {
  S.kbSelected = id;
  renderEntryList();
  const res = await kbAct(() => api("POST", "/api/knowledge/preview", { entry: id, os: os || null }));
  if (res) showPreview(res, { entry: id }, keepNotice);
}

async function previewText(text, os, keepNotice) {
  S.kbSelected = null;
  renderEntryList();
  const res = await kbAct(() => api("POST", "/api/knowledge/preview", { text, os: os || null }));
  if (res) showPreview(res, { text }, keepNotice);
}

async function kbAct(fn) {
  try { return await fn(); } catch (err) { kbNotice(err.message, true); return null; }
}

function kbNotice(text, bad) {
  const box = $("#kb-notice");
  box.textContent = text;
  box.hidden = !text;
  box.style.borderColor = bad ? "var(--red)" : "";
  box.style.background = bad ? "rgba(242,63,67,.1)" : "";
}

function previewButton(c) {
  const parts = (c.custom_id || "").split(":");
  if (parts[1] === "os" && S.kbLast) {
    if (S.kbLast.entry) previewEntry(S.kbLast.entry, parts[2]);
    else previewText(S.kbLast.text, parts[2]);
  } else {
    kbNotice(`“${c.label}” works in a channel: ask there and press it on the bot's answer.`, false);
  }
}

function showPreview(res, source, keepNotice) {
  S.kbLast = source;
  if (!keepNotice) kbNotice("", false);
  const meta = $("#kb-meta");
  meta.replaceChildren();
  const over = res.size > res.limit;
  meta.append(...[
    res.query !== null ? el("span", {}, "Asked: ", el("code", { text: res.query })) : el("span", { class: "over", text: "No alias, symbol, message or title of this entry reaches it: people can't get this answer by asking. " }),
    el("span", { class: over ? "over" : null, text: ` · ${res.size.toLocaleString()} / ${res.limit.toLocaleString()} embed characters` }),
    res.query !== null ? el("span", { text: res.triggered ? " · watching would offer help unasked" : " · watching would stay quiet" }) : null,
    res.os ? el("span", { text: ` · commands for ${res.os}` }) : null,
  ].filter(Boolean));
  const message = { id: "preview", channel_id: "", author: { id: S.bot.id, name: S.bot.name, bot: true }, content: "", timestamp: new Date().toISOString(),
    embeds: res.embeds, components: res.components, reactions: [], ephemeral: false };
  $("#kb-preview").replaceChildren(messageNode(message, { preview: true }));
  $("#kb-more").hidden = !res.more.length;
  $("#kb-more-embeds").replaceChildren(...res.more.map(renderEmbed));
}

async function reloadKnowledge() {
  const button = $("#kb-reload");
  button.disabled = true;
  button.textContent = "Reloading…";
  const res = await kbAct(() => api("POST", "/api/knowledge/reload", {}));
  button.disabled = false;
  button.textContent = "Reload knowledge";
  if (!res) return;
  S.knowledge = res;
  renderKnowledge();
  if (res.error) { kbNotice("", false); return; }
  kbNotice(`Reloaded ${res.entries.length} entries.` + (res.bot_restarting ? ` ${S.bot.name} restarts on them; the channels answer from the new files in a few seconds.` : " Nothing changed since the bot started."), false);
  if (S.kbLast) {
    // Show the same preview again, from the reloaded files, under the reload's notice.
    if (S.kbLast.entry && res.entries.some((e) => e.id === S.kbLast.entry)) previewEntry(S.kbLast.entry, null, true);
    else if (S.kbLast.text) previewText(S.kbLast.text, null, true);
  }
}

// ---------------------------------------------------------------- live updates

function handle(ev) {
  switch (ev.type) {
    case "hello": {
      Object.assign(S, { you: ev.you, bot: ev.bot, guild: ev.guild, dm: ev.dm, users: ev.users, members: ev.members, commands: ev.commands,
        botStatus: ev.bot_status, messageContent: ev.message_content, knowledge: ev.knowledge });
      S.messages = new Map(ev.messages.map((m) => [m.id, m]));
      // A restarted playground is a new world with new ids: start again from its first channel.
      if (!allChannels().some((c) => c.id === S.channel)) S.channel = ev.guild.channels[0].id;
      document.body.dataset.ready = "1";
      renderBotStatus();
      if (S.view === "chat") openChannel(S.channel); else openKnowledge();
      break;
    }
    case "message_create":
    case "message_update": {
      const m = ev.message;
      S.messages.set(m.id, m);
      if (m.author.bot) S.typing.delete(m.channel_id);
      if (m.channel_id !== S.channel || S.view !== "chat") { if (ev.type === "message_create") { S.unread.add(m.channel_id); renderSidebar(); } }
      else { redraw(m.id); renderTyping(); }
      break;
    }
    case "message_delete":
      S.messages.delete(ev.message_id);
      if (S.replyTo === ev.message_id) { S.replyTo = null; updateReplyBar(); }
      redraw(ev.message_id);
      break;
    case "reactions": {
      const m = S.messages.get(ev.message_id);
      if (m) { m.reactions = ev.reactions; redraw(m.id); }
      break;
    }
    case "typing":
      S.typing.set(ev.channel_id, Date.now() + TYPING_MS);
      renderTyping();
      setTimeout(renderTyping, TYPING_MS + 50);
      break;
    case "commands":
      S.commands = ev.commands;
      break;
    case "bot_status":
      S.botStatus = { status: ev.status, detail: ev.detail };
      renderBotStatus();
      break;
    case "knowledge":
      S.knowledge = ev.knowledge;
      if (S.view === "kb") renderKnowledge();
      break;
  }
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/events`);
  ws.onmessage = (msg) => handle(JSON.parse(msg.data));
  ws.onclose = () => {
    S.botStatus = { status: "offline", detail: "The page lost its connection to the playground; reconnecting…" };
    if (S.bot) renderBotStatus();
    setTimeout(connect, 1000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const input = $("#composer-input");
  input.addEventListener("input", onComposerInput);
  input.addEventListener("keydown", composerKeys);
  input.addEventListener("blur", () => setTimeout(() => { if (S.sugg.kind !== "choice" && document.activeElement !== input) hideSuggestions(); }, 150));
  $("#composer").addEventListener("submit", (ev) => ev.preventDefault());
  $("#reply-cancel").addEventListener("click", () => { S.replyTo = null; updateReplyBar(); });
  $("#open-kb").addEventListener("click", openKnowledge);
  $("#home-icon").addEventListener("click", () => S.dm && openChannel(S.dm.id));
  $("#server-icon").addEventListener("click", () => S.guild && openChannel(S.guild.channels[0].id));
  $("#kb-filter").addEventListener("input", renderEntryList);
  $("#kb-text-form").addEventListener("submit", (ev) => { ev.preventDefault(); const t = $("#kb-text").value; if (t.trim()) previewText(t); });
  $("#kb-reload").addEventListener("click", reloadKnowledge);
  document.addEventListener("click", (ev) => { if (!ev.target.closest("#context-menu") && !ev.target.closest(".tb-more")) closeMenu(); });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { closeMenu(); $("#modal").hidden = true; } });
  connect();
});
