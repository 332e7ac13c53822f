// The web client at `/`: plain DOM on top of the client library (no framework, no build step).
import { ChatApiError, ChatClient } from "../chat/client.js";

// The refresh token in HttpOnly cookies, the access token in memory: an injected script could act only
// while the page is open, and carry off nothing that outlives an access token's 15 minutes.
const client = new ChatClient({ refreshCookie: true });
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** @type {Map<number, any>} chat id -> list entry (with `detail` once loaded) */
const chats = new Map();
/** @type {Map<number, Map<number, any>>} chat id -> message id -> message (loaded chats only) */
const messages = new Map();
/** @type {Map<number, Map<number, number>>} chat id -> user id -> seq they have read */
const readMarks = new Map();
/** @type {Map<number, string>} */
const usernames = new Map();
/** @type {Set<number>} chats whose members were reloaded to name an unknown sender */
const reloadedMembers = new Set();
/** @type {Map<number, any>} user id -> found user (for the group form) */
const found = new Map();
const state = {
  current: /** @type {number|null} */ (null),
  oldest: /** @type {Map<number, number>} */ (new Map()),
  exhausted: /** @type {Set<number>} */ (new Set()),
  loadingOlder: false,
  replyTo: /** @type {any} */ (null),
  editing: /** @type {any} */ (null),
  uploads: /** @type {any[]} */ ([]),
  lastTyping: 0,
  typingTimer: /** @type {any} */ (undefined),
  readTimer: /** @type {any} */ (undefined),
};

// --- screens -------------------------------------------------------------------------------------

function showAuth(message = "") {
  $("auth-screen").hidden = false;
  $("chat-screen").hidden = true;
  $("logout").hidden = true;
  $("whoami").textContent = "";
  $("connection").textContent = "";
  $("auth-error").textContent = message;
  $("login-email").focus();
}

async function start() {
  $("auth-screen").hidden = true;
  $("chat-screen").hidden = false;
  $("logout").hidden = false;
  $("whoami").textContent = `Signed in as ${client.user.username}`;
  usernames.set(client.user.id, client.user.username);
  await loadChats(); // first, so `resume` knows each chat's newest seq
  client.connect();
  $("user-search").focus();
}

function errorText(error) {
  if (error instanceof ChatApiError) return error.message;
  return "Network error: is the server reachable?";
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await client.login({ email: $("login-email").value, password: $("login-password").value });
    await start();
  } catch (error) {
    showAuth(errorText(error));
  }
});

$("register-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    username: $("register-username").value,
    email: $("register-email").value,
    password: $("register-password").value,
  };
  try {
    await client.register(body);
    await client.login({ email: body.email, password: body.password });
    await start();
  } catch (error) {
    showAuth(errorText(error));
  }
});

$("logout").addEventListener("click", async () => {
  await client.logout().catch(() => {});
  location.reload();
});

client.addEventListener("logged_out", () => showAuth("Your session ended; please log in again."));

client.addEventListener("status", (event) => {
  const { state: s, retryInMs } = event.detail;
  $("connection").dataset.state = s;
  $("connection").textContent =
    s === "open" ? "Online" : s === "connecting" ? "Connecting…" : retryInMs !== undefined
      ? `Offline, reconnecting in ${Math.ceil(retryInMs / 1000)} s…` : "Offline";
});

// --- chat list -----------------------------------------------------------------------------------

async function loadChats() {
  const list = await client.listChats();
  for (const entry of list) {
    const known = chats.get(entry.id);
    entry.detail = known?.detail;
    // A live message may have overtaken this list (it was read before the message committed).
    if (known?.last_message && (!entry.last_message || known.last_message.seq > entry.last_message.seq)) {
      entry.last_message = known.last_message;
      entry.unread_count = Math.max(entry.unread_count, known.unread_count);
    }
    chats.set(entry.id, entry);
    if (!client.seqs.has(entry.id)) client.seqs.set(entry.id, entry.last_message ? entry.last_message.seq : 0);
  }
  await Promise.all(list.filter((entry) => !entry.detail).map((entry) => loadDetail(entry.id)));
  renderChatList();
}

async function loadDetail(/** @type {number} */ chatId) {
  const detail = await client.getChat(chatId);
  const entry = chats.get(chatId) || { ...detail, last_message: null, unread_count: 0 };
  entry.detail = detail;
  chats.set(chatId, entry);
  for (const member of detail.members) usernames.set(member.id, member.username);
  return entry;
}

function otherMembers(entry) {
  return (entry.detail?.members || []).filter((m) => m.id !== client.user.id);
}

function chatTitle(entry) {
  if (entry.type === "group") return entry.name || "Group";
  return otherMembers(entry)[0]?.username || "Private chat";
}

function preview(message) {
  if (!message) return "No messages yet";
  const who = message.sender_id === client.user.id ? "You" : usernames.get(message.sender_id) || "Someone";
  const text = message.content || (message.attachments?.length ? "📎 attachment" : "");
  return `${who}: ${text}`;
}

function renderChatList() {
  const ul = $("chat-list");
  ul.replaceChildren();
  const ordered = [...chats.values()].sort((a, b) => activity(b) - activity(a));
  for (const entry of ordered) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chat-item";
    button.dataset.chatId = String(entry.id);
    if (entry.id === state.current) button.setAttribute("aria-current", "true");
    const title = document.createElement("span");
    title.className = "chat-name";
    title.textContent = chatTitle(entry);
    const online = entry.type === "private" && otherMembers(entry)[0]?.online;
    if (online) {
      const dot = document.createElement("span");
      dot.className = "online-dot";
      dot.setAttribute("aria-label", "online");
      title.append(" ", dot);
    }
    const last = document.createElement("span");
    last.className = "chat-last";
    last.textContent = preview(entry.last_message);
    button.append(title, last);
    if (entry.unread_count > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = String(entry.unread_count);
      badge.setAttribute("aria-label", `${entry.unread_count} unread`);
      button.append(badge);
    }
    button.addEventListener("click", () => openChat(entry.id));
    li.append(button);
    ul.append(li);
  }
}

function activity(entry) {
  return Date.parse(entry.last_message?.created_at || entry.created_at);
}

// --- user directory, new chats -------------------------------------------------------------------

$("user-search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ul = $("user-results");
  ul.replaceChildren();
  try {
    const users = await client.searchUsers($("user-search").value.trim());
    if (!users.length) ul.append(Object.assign(document.createElement("li"), { textContent: "Nobody found" }));
    for (const user of users) {
      found.set(user.id, user);
      usernames.set(user.id, user.username);
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Message ${user.username}`;
      button.addEventListener("click", async () => {
        const chat = await client.createPrivateChat(user.id);
        await loadDetail(chat.id);
        if (!client.seqs.has(chat.id)) client.seqs.set(chat.id, 0);
        renderChatList();
        openChat(chat.id);
      });
      li.append(button);
      ul.append(li);
    }
    renderGroupChoices();
  } catch (error) {
    ul.append(Object.assign(document.createElement("li"), { textContent: errorText(error), className: "error" }));
  }
});

function renderGroupChoices() {
  const box = $("group-members");
  box.replaceChildren();
  for (const user of found.values()) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = String(user.id);
    label.append(input, ` ${user.username}`);
    box.append(label);
  }
}

$("group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = [...$("group-members").querySelectorAll("input:checked")].map((input) => Number(input.value));
  const chat = await client.createGroupChat($("group-name").value.trim(), ids);
  await loadDetail(chat.id);
  if (!client.seqs.has(chat.id)) client.seqs.set(chat.id, 0);
  $("group-form").reset();
  $("new-group").open = false;
  renderChatList();
  openChat(chat.id);
});

// --- one chat ------------------------------------------------------------------------------------

async function openChat(/** @type {number} */ chatId) {
  // A draft belongs to the chat it was written in; reopening the same chat keeps it.
  if (state.current !== chatId) cancelComposerModes();
  state.current = chatId;
  const entry = chats.get(chatId)?.detail ? chats.get(chatId) : await loadDetail(chatId);
  $("chat-screen").classList.add("chat-open");
  $("chat-view").hidden = false;
  $("chat-title").textContent = chatTitle(entry);
  renderPresence();
  $("typing").textContent = "";
  const list = $("messages");
  list.replaceChildren();
  if (!messages.has(chatId)) {
    messages.set(chatId, new Map());
    const page = await client.history(chatId, { limit: 50 });
    for (const message of page) remember(message);
    if (page.length < 50) state.exhausted.add(chatId);
  }
  if (state.current !== chatId) return;
  for (const message of sorted(chatId)) renderMessage(message);
  list.scrollTop = list.scrollHeight;
  renderChatList();
  markReadSoon();
  $("message-input").focus();
}

$("back").addEventListener("click", () => {
  $("chat-screen").classList.remove("chat-open");
  state.current = null;
  renderChatList();
});

function remember(message) {
  if (!messages.has(message.chat_id)) return;
  messages.get(message.chat_id).set(message.id, message);
  client.track(message);
  const oldest = state.oldest.get(message.chat_id);
  if (oldest === undefined || message.seq < oldest) state.oldest.set(message.chat_id, message.seq);
  // A sender we cannot name (joined since we loaded the members): reload the members once per chat.
  if (message.sender_id !== null && !usernames.has(message.sender_id) && !reloadedMembers.has(message.chat_id)) {
    reloadedMembers.add(message.chat_id);
    loadDetail(message.chat_id).catch(() => {});
  }
}

function sorted(chatId) {
  return [...messages.get(chatId).values()].sort((a, b) => a.seq - b.seq);
}

function renderPresence() {
  const entry = chats.get(state.current);
  if (!entry) return;
  const others = otherMembers(entry);
  if (entry.type === "private") {
    $("chat-presence").textContent = others[0]?.online ? "online" : "offline";
  } else {
    const online = others.filter((m) => m.online).map((m) => m.username);
    $("chat-presence").textContent =
      `${others.length + 1} members` + (online.length ? `, online: ${online.join(", ")}` : "");
  }
}

// History paged backwards as the list is scrolled to its top.
$("messages").addEventListener("scroll", async () => {
  const list = $("messages");
  const chatId = state.current;
  if (chatId === null || list.scrollTop > 40 || state.loadingOlder || state.exhausted.has(chatId)) return;
  state.loadingOlder = true;
  try {
    const page = await client.history(chatId, { beforeSeq: state.oldest.get(chatId), limit: 50 });
    if (page.length < 50) state.exhausted.add(chatId);
    const before = list.scrollHeight;
    for (const message of page) {
      remember(message);
      if (state.current === chatId) renderMessage(message);
    }
    list.scrollTop += list.scrollHeight - before;
  } finally {
    state.loadingOlder = false;
  }
});

function formatTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Insert or replace a message's element, kept in seq order: each message is on screen once. */
function renderMessage(message) {
  const list = $("messages");
  const li = document.createElement("li");
  li.id = `message-${message.id}`;
  li.className = "message" + (message.sender_id === client.user.id ? " mine" : "");
  li.dataset.seq = String(message.seq);
  li.tabIndex = 0;

  const meta = document.createElement("p");
  meta.className = "meta";
  const who = message.sender_id === client.user.id ? "You" : usernames.get(message.sender_id) || "Someone";
  meta.textContent = `${who} · ${formatTime(message.created_at)}` + (message.edited_at ? " · edited" : "");
  li.append(meta);

  if (message.reply_to) {
    const quoted = messages.get(message.chat_id)?.get(message.reply_to);
    const quote = document.createElement("p");
    quote.className = "quote";
    quote.textContent = `↪ ${quoted ? (quoted.deleted ? "deleted message" : quoted.content) : "an earlier message"}`;
    li.append(quote);
  }

  const body = document.createElement("p");
  body.className = "content";
  body.textContent = message.deleted ? "This message was deleted" : message.content;
  if (message.deleted) li.classList.add("deleted");
  li.append(body);

  for (const attachment of message.deleted ? [] : message.attachments || []) li.append(renderAttachment(attachment));

  if (!message.deleted) {
    const reactions = document.createElement("div");
    reactions.className = "reactions";
    for (const reaction of message.reactions || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${reaction.emoji} ${reaction.count}`;
      button.setAttribute("aria-pressed", reaction.me ? "true" : "false");
      button.setAttribute("aria-label", `${reaction.emoji} ${reaction.count}, toggle your reaction`);
      button.addEventListener("click", () => toggleReaction(message, reaction.emoji));
      reactions.append(button);
    }
    li.append(reactions);

    const actions = document.createElement("div");
    actions.className = "actions";
    actions.append(action("Reply", () => startReply(message)));
    actions.append(action("👍", () => toggleReaction(message, "👍"), "React with thumbs up"));
    if (message.sender_id === client.user.id) {
      actions.append(action("Edit", () => startEdit(message)));
      actions.append(
        action("Delete", async () => {
          if (confirm("Delete this message?")) await client.deleteMessage(message.id);
        }),
      );
    }
    li.append(actions);
  }

  const status = document.createElement("p");
  status.className = "read-status";
  li.append(status);

  const existing = document.getElementById(li.id);
  if (existing) existing.replaceWith(li);
  else {
    const after = [...list.children].find((other) => Number(other.dataset.seq) > message.seq);
    list.insertBefore(li, after || null);
  }
  renderReadStatus(li, message);
}

function action(label, handler, ariaLabel) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  if (ariaLabel) button.setAttribute("aria-label", ariaLabel);
  button.addEventListener("click", handler);
  return button;
}

function renderAttachment(attachment) {
  const box = document.createElement("div");
  box.className = "attachment";
  if (attachment.content_type.startsWith("image/")) {
    const img = document.createElement("img");
    img.alt = attachment.filename;
    client.downloadAttachment(attachment).then((blob) => (img.src = URL.createObjectURL(blob)), () => {});
    box.append(img);
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "download";
  button.textContent = `Download ${attachment.filename} (${Math.ceil(attachment.size / 1024)} KiB)`;
  button.addEventListener("click", async () => {
    const blob = await client.downloadAttachment(attachment);
    const link = Object.assign(document.createElement("a"), {
      href: URL.createObjectURL(blob),
      download: attachment.filename,
    });
    document.body.append(link);
    link.click();
    link.remove();
  });
  box.append(button);
  return box;
}

function renderReadStatus(li, message) {
  const status = li.querySelector(".read-status");
  if (!status || message.sender_id !== client.user.id) return;
  const marks = readMarks.get(message.chat_id) || new Map();
  const readers = [...marks.entries()].filter(([user, seq]) => user !== client.user.id && seq >= message.seq);
  const entry = chats.get(message.chat_id);
  status.textContent = !readers.length ? "" : entry?.type === "group"
    ? `Read by ${readers.map(([user]) => usernames.get(user) || "someone").join(", ")}` : "Read";
}

function refreshReadStatus(chatId) {
  if (chatId !== state.current) return;
  for (const message of messages.get(chatId)?.values() || []) {
    const li = document.getElementById(`message-${message.id}`);
    if (li) renderReadStatus(li, message);
  }
}

async function toggleReaction(message, emoji) {
  const mine = (message.reactions || []).find((r) => r.emoji === emoji)?.me;
  const updated = mine ? await client.removeReaction(message.id, emoji) : await client.addReaction(message.id, emoji);
  upsert(updated);
}

function markReadSoon() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(async () => {
    const chatId = state.current;
    if (chatId === null || document.visibilityState !== "visible") return;
    const newest = sorted(chatId).at(-1);
    const entry = chats.get(chatId);
    if (!newest || !entry) return;
    const answer = await client.markRead(chatId, newest.seq).catch(() => null);
    if (answer) {
      entry.unread_count = answer.unread_count;
      renderChatList();
    }
  }, 300);
}
document.addEventListener("visibilitychange", markReadSoon);

// --- composer ------------------------------------------------------------------------------------

function cancelComposerModes() {
  state.replyTo = null;
  state.editing = null;
  state.uploads = [];
  $("reply-preview").hidden = true;
  $("edit-preview").hidden = true;
  $("upload-preview").hidden = true;
  $("message-input").value = "";
}

function startReply(message) {
  state.replyTo = message;
  $("reply-preview").hidden = false;
  $("reply-preview").querySelector("span").textContent = `Replying to: ${message.content.slice(0, 80)}`;
  $("message-input").focus();
}

function startEdit(message) {
  state.editing = message;
  $("edit-preview").hidden = false;
  $("message-input").value = message.content;
  $("message-input").focus();
}

$("cancel-reply").addEventListener("click", () => {
  state.replyTo = null;
  $("reply-preview").hidden = true;
  $("message-input").focus();
});
$("cancel-edit").addEventListener("click", () => {
  state.editing = null;
  $("edit-preview").hidden = true;
  $("message-input").value = "";
  $("message-input").focus();
});

$("file-input").addEventListener("change", async () => {
  const file = $("file-input").files[0];
  if (!file) return;
  const preview = $("upload-preview");
  preview.hidden = false;
  preview.textContent = `Uploading ${file.name}…`;
  try {
    const attachment = await client.uploadAttachment(file);
    state.uploads.push(attachment);
    preview.textContent = `Attached: ${state.uploads.map((a) => a.filename).join(", ")}`;
  } catch (error) {
    preview.textContent = `Upload failed: ${errorText(error)}`;
  }
  $("file-input").value = "";
});

$("message-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("message-input").addEventListener("input", () => {
  if (state.current === null || Date.now() - state.lastTyping < 2000) return;
  state.lastTyping = Date.now();
  client.typing(state.current);
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const chatId = state.current;
  const input = $("message-input");
  const text = input.value.trim();
  if (chatId === null) return;
  try {
    if (state.editing) {
      if (text) upsert(await client.editMessage(state.editing.id, text));
    } else {
      if (!text && !state.uploads.length) return;
      const content = text || state.uploads.map((a) => a.filename).join(", ");
      const sent = await client.sendMessage({
        chatId,
        content,
        replyTo: state.replyTo?.id,
        attachmentIds: state.uploads.map((a) => a.id),
      });
      upsert(sent);
    }
    cancelComposerModes();
  } catch (error) {
    $("upload-preview").hidden = false;
    $("upload-preview").textContent = `Not sent: ${errorText(error)}`;
  }
  input.focus();
});

// --- live events ---------------------------------------------------------------------------------

/** A message from anywhere (REST answer, socket, replay): stored and shown once, by id. */
function upsert(message) {
  const entry = chats.get(message.chat_id);
  if (!entry) {
    loadChats();
    return;
  }
  remember(message);
  if (!entry.last_message || message.seq >= entry.last_message.seq) {
    entry.last_message = message.deleted ? null : message;
  }
  if (message.chat_id === state.current) {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    renderMessage(message);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
}

client.addEventListener("message", (event) => {
  const message = event.detail;
  const entry = chats.get(message.chat_id);
  const seen = messages.get(message.chat_id)?.has(message.id);
  upsert(message);
  if (entry && !seen && message.sender_id !== client.user.id) {
    if (message.chat_id === state.current && document.visibilityState === "visible") markReadSoon();
    else entry.unread_count += 1;
  }
  renderChatList();
});

for (const type of ["message_updated"]) {
  client.addEventListener(type, (event) => {
    upsert(event.detail);
    renderChatList();
  });
}

client.addEventListener("message_deleted", (event) => {
  const { id, chat_id: chatId } = event.detail;
  const message = messages.get(chatId)?.get(id);
  if (message) upsert({ ...message, deleted: true, content: "", attachments: [], reactions: [] });
  loadChats();
});

for (const type of ["reaction_added", "reaction_removed"]) {
  client.addEventListener(type, (event) => {
    const { message_id: id, chat_id: chatId, emoji, user_id: userId, count } = event.detail;
    const message = messages.get(chatId)?.get(id);
    if (!message) return;
    const reactions = (message.reactions || []).map((r) => ({ ...r }));
    let reaction = reactions.find((r) => r.emoji === emoji);
    if (!reaction) reactions.push((reaction = { emoji, count, me: false }));
    reaction.count = count;
    if (userId === client.user.id) reaction.me = type === "reaction_added";
    upsert({ ...message, reactions: reactions.filter((r) => r.count > 0) });
  });
}

client.addEventListener("typing", (event) => {
  const { chat_id: chatId, user_id: userId } = event.detail;
  if (chatId !== state.current || userId === client.user.id) return;
  $("typing").textContent = `${usernames.get(userId) || "Someone"} is typing…`;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => ($("typing").textContent = ""), 3000);
});

client.addEventListener("read", (event) => {
  const { chat_id: chatId, user_id: userId, seq } = event.detail;
  if (!readMarks.has(chatId)) readMarks.set(chatId, new Map());
  const marks = readMarks.get(chatId);
  marks.set(userId, Math.max(seq, marks.get(userId) || 0));
  refreshReadStatus(chatId);
});

client.addEventListener("presence", (event) => {
  const { user_id: userId, online } = event.detail;
  for (const entry of chats.values()) {
    for (const member of entry.detail?.members || []) if (member.id === userId) member.online = online;
  }
  renderPresence();
  renderChatList();
});

for (const type of ["chat_created", "chat_updated", "member_added", "member_removed", "member_updated"]) {
  client.addEventListener(type, async (event) => {
    const chatId = event.detail.id ?? event.detail.chat_id ?? event.detail.chat?.id;
    if (type === "member_removed" && event.detail.user_id === client.user.id) {
      chats.delete(chatId);
      if (state.current === chatId) $("chat-view").hidden = true;
      renderChatList();
      return;
    }
    if (chatId && !client.seqs.has(chatId)) client.seqs.set(chatId, 0);
    reloadedMembers.delete(chatId);
    if (chatId) await loadDetail(chatId).catch(() => {});
    await loadChats();
    if (chatId === state.current) {
      $("chat-title").textContent = chatTitle(chats.get(chatId));
      renderPresence();
    }
  });
}

// After a reconnect the replay has filled every open chat; refresh counts and presence too.
client.addEventListener("resumed", async () => {
  await loadChats().catch(() => {});
  if (state.current !== null) {
    await loadDetail(state.current).catch(() => {});
    renderPresence();
  }
});

client.addEventListener("error", (event) => {
  $("connection").textContent = `Server: ${event.detail.message}`;
});

// --- boot ----------------------------------------------------------------------------------------

if (await client.restore()) await start();
else showAuth();
