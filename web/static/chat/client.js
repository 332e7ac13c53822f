// Chat backend client library: plain ES module, no dependencies, no build step.
//
//   import { ChatClient } from "/static/chat/client.js";
//   const chat = new ChatClient();                       // same origin; or new ChatClient({ baseUrl })
//   await chat.login({ email, password });               // or: await chat.restore()
//   chat.addEventListener("message", (e) => console.log(e.detail.content));
//   await chat.connect();                                // socket with reconnect, resume and renewal
//
// Tokens: the access token lives in memory only. In a page of the server's own origin the refresh
// token lives in HttpOnly cookies the page cannot read (`refreshCookie`, asked for with the header
// X-Refresh-Cookie: 1), so an injected script cannot take it and a reload logs in again with `restore()`.
// Elsewhere (another origin, Node) it is kept in `storage` (localStorage, key "chat.refresh_token"), or
// in memory with `storage: null` (the user logs in again after a reload); passing `storage` also turns
// the cookie off. One browser has one cookie: two users in one page need `storage: null`. Every refresh
// rotates it through POST /api/refresh; concurrent callers (and, with the cookie, other tabs) share one.
//
// Events (CustomEvent, the frame's payload in `detail`): message (new_message, each seq once and in
// order per chat), message_updated, message_deleted, reaction_added, reaction_removed, typing, read,
// presence, chat_created, chat_updated, member_added, member_removed, member_updated, resumed,
// error (socket error frames, except those answering a `queueMessage` send),
// status ({state: "connecting"|"open"|"closed", retryInMs?}),
// logged_out (the refresh token no longer works, or the account was disabled).

const REFRESH_KEY = "chat.refresh_token";
const COOKIE_HEADERS = { "X-Refresh-Cookie": "1" };

/** Whether `baseUrl` is the origin of the page this runs in (cookies then reach the server). */
function sameOriginPage(/** @type {string} */ baseUrl) {
  if (!globalThis.document || !globalThis.location) return false;
  try {
    return new URL(baseUrl || globalThis.location.origin).origin === globalThis.location.origin;
  } catch {
    return false;
  }
}

/** An error answer of the REST API: `status`, and the body's `code` and `message`. */
export class ChatApiError extends Error {
  /**
   * @param {number} status
   * @param {{error?: string, code?: string, [key: string]: unknown}} body
   */
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.name = "ChatApiError";
    /** @type {number} */ this.status = status;
    /** @type {string} */ this.code = body.code || "http_error";
    /** @type {object} */ this.body = body;
  }
}

/**
 * @typedef {{id: number, username: string}} PublicUser
 * @typedef {{id: number, filename: string, size: number, content_type: string, url: string}} Attachment
 * @typedef {{emoji: string, count: number, me?: boolean}} Reaction
 * @typedef {{id: number, chat_id: number, sender_id: number|null, content: string, created_at: string,
 *   edited_at: string|null, seq: number, reply_to: number|null, client_id: string|null, deleted: boolean,
 *   version: number, reactions: Reaction[], attachments: Attachment[]}} Message
 * @typedef {{id: number, type: "private"|"group", name: string|null, created_at: string}} Chat
 * @typedef {Chat & {last_message: Message|null, unread_count: number}} ChatListEntry
 * @typedef {Chat & {members: {id: number, username: string, role: string, online: boolean}[]}} ChatDetail
 * @typedef {{getItem(k: string): string|null, setItem(k: string, v: string): void, removeItem(k: string): void}} TokenStorage
 */

/** Seconds since the epoch at which a JWT expires (0 if unreadable). @param {string} token */
function jwtExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return Number(JSON.parse(atob(part)).exp) || 0;
  } catch {
    return 0;
  }
}

/** A random id for idempotent sends. */
export function newClientId() {
  return globalThis.crypto?.randomUUID
    ? globalThis.crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export class ChatClient extends EventTarget {
  /**
   * @param {{baseUrl?: string, storage?: TokenStorage|null, refreshCookie?: boolean, wsAuth?: "ticket"|"subprotocol",
   *   maxBackoffMs?: number, maxInFlight?: number, fetch?: typeof fetch, WebSocket?: typeof WebSocket}} [options]
   */
  constructor(options = {}) {
    super();
    this.baseUrl = (options.baseUrl ?? globalThis.location?.origin ?? "").replace(/\/$/, "");
    /** The refresh token in HttpOnly cookies (default: in a same-origin page given no `storage`). */
    this.refreshCookie = options.refreshCookie ?? (options.storage === undefined && sameOriginPage(this.baseUrl));
    /** @type {TokenStorage|null} */
    this.storage = this.refreshCookie
      ? null
      : options.storage === undefined ? (globalThis.localStorage ?? null) : options.storage;
    this.wsAuth = options.wsAuth || "ticket";
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this._fetch = options.fetch || globalThis.fetch.bind(globalThis);
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    /** @type {string|null} */ this.accessToken = null;
    /** @type {string|null} */ this._memoryRefresh = null;
    /** @type {{id: number, username: string, email: string}|null} */ this.user = null;
    /** Highest seq seen per chat: sent in `resume`, and anything at or below it is a duplicate. */
    /** @type {Map<number, number>} */ this.seqs = new Map();
    /** Highest change version seen per chat (edits, deletions, reactions), sent in `resume`. */
    /** @type {Map<number, number>} */ this.versions = new Map();
    /** @type {WebSocket|null} */ this.socket = null;
    this._wanted = false;
    this._connecting = false;
    this._attempt = 0;
    /** A `server_busy` answer's wait before the next connect, in ms. */ this._busyRetryMs = 0;
    /** @type {Promise<string>|null} */ this._refreshing = null;
    /** @type {ReturnType<typeof setTimeout>|undefined} */ this._retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout>|undefined} */ this._renewTimer = undefined;
    /** Socket sends not answered yet, by client_id, in the order queued (see `queueMessage`). */
    /** @type {Map<string, OutboxEntry>} */ this.outbox = new Map();
    /** Outbox sends on the wire at once, unanswered; 1 (the default) keeps your messages in order. */
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
    /** How many may be in flight now: halved by each rate-limit pause, one more per stored send. */
    this._outboxWindow = this.maxInFlight;
    /** No outbox send before this time (ms since the epoch): the last `rate_limited` answer's `retry_after`. */
    this._outboxPausedUntil = 0;
    /** @type {ReturnType<typeof setTimeout>|undefined} */ this._outboxTimer = undefined;
    // What one user queued must never be sent in the name of the next one to log in.
    this.addEventListener("logged_out", () =>
      this._outboxFailAll(new ChatApiError(401, { error: "logged out", code: "not_authenticated" })));
  }

  // --- tokens -------------------------------------------------------------------------------------

  /** The stored refresh token, if any (never, with `refreshCookie`: the page cannot read it). */
  get refreshToken() {
    return this.storage ? this.storage.getItem(REFRESH_KEY) : this._memoryRefresh;
  }

  /** @param {string|null} token */
  _setRefresh(token) {
    if (this.storage) {
      if (token) this.storage.setItem(REFRESH_KEY, token);
      else this.storage.removeItem(REFRESH_KEY);
    } else {
      this._memoryRefresh = token;
    }
  }

  /** @param {{access_token: string, refresh_token?: string}} pair */
  _setTokens(pair) {
    this.accessToken = pair.access_token;
    if (!this.refreshCookie) this._setRefresh(pair.refresh_token ?? null);
    this._scheduleRenewal();
  }

  /** Rotate the refresh token for a fresh pair (one request however many callers ask at once). */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = (async () => {
        const token = this.refreshToken;
        if (!token && !this.refreshCookie) {
          throw new ChatApiError(401, { error: "not logged in", code: "not_authenticated" });
        }
        try {
          const pair = this.refreshCookie
            ? await this._refreshLock(() => this._raw("POST", "/api/refresh", { headers: COOKIE_HEADERS }))
            : await this._raw("POST", "/api/refresh", { body: { refresh_token: token } });
          this._setTokens(pair);
          return pair.access_token;
        } catch (error) {
          if (error instanceof ChatApiError && (error.status === 401 || error.status === 403)) this._loggedOut();
          throw error;
        }
      })().finally(() => {
        this._refreshing = null;
      });
    }
    return this._refreshing;
  }

  /**
   * Run a cookie refresh alone across this origin's tabs: they share one cookie, and two rotating the
   * same token at once would look like reuse to the server, which then ends the session.
   * @template T @param {() => Promise<T>} run @returns {Promise<T>}
   */
  _refreshLock(run) {
    const locks = globalThis.navigator?.locks;
    return locks ? locks.request("chat.refresh", run) : run();
  }

  _loggedOut() {
    this.accessToken = null;
    this.user = null;
    this._setRefresh(null);
    this.disconnect();
    this._emit("logged_out", {});
  }

  /** An access token valid for at least 30 more seconds, refreshed if needed. */
  async token() {
    if (this.accessToken && jwtExpiry(this.accessToken) - Date.now() / 1000 > 30) return this.accessToken;
    return this.refresh();
  }

  /** Renew ahead of expiry: refresh, then move the open socket's expiry with an `auth` frame. */
  _scheduleRenewal() {
    clearTimeout(this._renewTimer);
    if (!this.accessToken) return;
    const lifeMs = jwtExpiry(this.accessToken) * 1000 - Date.now();
    const inMs = Math.max(lifeMs - Math.min(60_000, lifeMs / 5), 1000);
    this._renewTimer = setTimeout(() => this.renew().catch(() => {}), inMs);
  }

  /**
   * Rotate the tokens now and move the open socket's expiry with an `auth` frame (answered by an
   * `authenticated` event). Runs by itself ahead of each access token's expiry.
   */
  async renew() {
    const token = await this.refresh();
    this._sendFrame("auth", { token });
    return token;
  }

  // --- accounts -----------------------------------------------------------------------------------

  /** @param {{username: string, email: string, password: string}} body */
  register(body) {
    return this._raw("POST", "/api/register", { body });
  }

  /** Log in; keeps the tokens and loads `user`. @param {{email: string, password: string}} body */
  async login(body) {
    const headers = this.refreshCookie ? COOKIE_HEADERS : {};
    this._setTokens(await this._raw("POST", "/api/login", { body, headers }));
    this.user = await this.me();
    return this.user;
  }

  /** Log in again from the refresh cookie or a stored refresh token; false when there is none or it no longer works. */
  async restore() {
    if (!this.refreshToken && !this.refreshCookie) return false;
    try {
      await this.refresh();
      this.user = await this.me();
      return true;
    } catch {
      return false;
    }
  }

  /** Revoke the refresh token, close the socket and forget everything. */
  async logout() {
    const token = this.refreshToken;
    try {
      // With the cookie the server reads the token from it, revokes it and clears the cookies.
      if (this.refreshCookie && this.accessToken) await this.request("POST", "/api/logout", { headers: COOKIE_HEADERS });
      else if (token && this.accessToken) await this.request("POST", "/api/logout", { body: { refresh_token: token } });
    } finally {
      clearTimeout(this._renewTimer);
      this._loggedOut();
    }
  }

  me() {
    return this.request("GET", "/api/me");
  }

  /** Rename yourself; keeps and returns the new `user`. @param {{username: string}} body */
  async updateMe(body) {
    this.user = await this.request("PATCH", "/api/me", { body });
    return this.user;
  }

  /**
   * Change the password. Every other session of yours is logged out (its sockets close with 4410);
   * this one keeps its tokens and socket. @param {{old_password: string, new_password: string}} body
   */
  changePassword(body) {
    return this.request("POST", "/api/password", { body });
  }

  /** The user directory: an exact email or a username prefix (3+ characters). @returns {Promise<PublicUser[]>} */
  async searchUsers(/** @type {string} */ search) {
    return (await this.request("GET", "/api/users", { query: { search } })).users;
  }

  /** @returns {Promise<PublicUser>} */
  getUser(/** @type {number} */ id) {
    return this.request("GET", `/api/users/${id}`);
  }

  // --- chats --------------------------------------------------------------------------------------

  /** @returns {Promise<ChatListEntry[]>} */
  async listChats() {
    const chats = (await this.request("GET", "/api/chats")).chats;
    for (const chat of chats) {
      this._newChat(chat);
      if (chat.last_message) this.track(chat.last_message);
    }
    return chats;
  }

  /** @returns {Promise<ChatDetail>} */
  getChat(/** @type {number} */ id) {
    return this.request("GET", `/api/chats/${id}`);
  }

  /** The private chat with a user (created or found). @returns {Promise<Chat>} */
  async createPrivateChat(/** @type {number} */ userId) {
    return this._newChat(await this.request("POST", "/api/chats/private", { body: { user_id: userId } }));
  }

  /** @returns {Promise<Chat>} */
  async createGroupChat(/** @type {string} */ name, /** @type {number[]} */ participants = []) {
    return this._newChat(await this.request("POST", "/api/chats/group", { body: { name, participants } }));
  }

  /** A chat we just joined: `resume` covers it from its first message. @param {Chat} chat */
  _newChat(chat) {
    if (!this.seqs.has(chat.id)) this.seqs.set(chat.id, 0);
    return chat;
  }

  /** Move your read marker (never backwards). */
  markRead(/** @type {number} */ chatId, /** @type {number} */ seq) {
    return this.request("POST", `/api/chats/${chatId}/read`, { body: { seq } });
  }

  // --- messages -----------------------------------------------------------------------------------

  /**
   * Send over REST, idempotently: a retry with the same `client_id` stores nothing twice.
   * @param {{chatId: number, content: string, replyTo?: number|null, attachmentIds?: number[], clientId?: string}} m
   * @returns {Promise<Message>}
   */
  sendMessage({ chatId, content, replyTo = null, attachmentIds = [], clientId = newClientId() }) {
    const body = { chat_id: chatId, content, client_id: clientId };
    if (replyTo) body.reply_to = replyTo;
    if (attachmentIds.length) body.attachment_ids = attachmentIds;
    return this.request("POST", "/api/messages/send", { body, retries: 3 });
  }

  /**
   * A page of history: no cursor = newest first; `beforeSeq` = older than it, newest first;
   * `afterSeq` = newer than it, oldest first.
   * @param {number} chatId @param {{beforeSeq?: number, afterSeq?: number, limit?: number}} [page]
   * @returns {Promise<Message[]>}
   */
  async history(chatId, { beforeSeq, afterSeq, limit = 50 } = {}) {
    const query = { chat_id: chatId, limit, before_seq: beforeSeq, after_seq: afterSeq };
    return (await this.request("GET", "/api/messages/get", { query })).messages;
  }

  editMessage(/** @type {number} */ id, /** @type {string} */ content) {
    return this.request("PATCH", `/api/messages/${id}`, { body: { content } });
  }

  deleteMessage(/** @type {number} */ id) {
    return this.request("DELETE", `/api/messages/${id}`);
  }

  addReaction(/** @type {number} */ id, /** @type {string} */ emoji) {
    return this.request("POST", `/api/messages/${id}/reactions`, { body: { emoji } });
  }

  removeReaction(/** @type {number} */ id, /** @type {string} */ emoji) {
    return this.request("DELETE", `/api/messages/${id}/reactions/${encodeURIComponent(emoji)}`);
  }

  /** Edits, deletions and reactions after a version. @returns {Promise<{messages: Message[], version: number}>} */
  changes(/** @type {number} */ chatId, /** @type {number} */ sinceVersion, limit = 100) {
    return this.request("GET", "/api/messages/changes", { query: { chat_id: chatId, since_version: sinceVersion, limit } });
  }

  /** @returns {Promise<{messages: Message[]}>} */
  search(/** @type {string} */ q, /** @type {number|undefined} */ chatId) {
    return this.request("GET", "/api/messages/search", { query: { q, chat_id: chatId } });
  }

  /** Upload a file (then send its id in `attachmentIds`). @param {Blob} file @param {string} [filename] @returns {Promise<Attachment>} */
  uploadAttachment(file, filename) {
    const form = new FormData();
    form.append("file", file, filename || /** @type {File} */ (file).name || "file");
    return this.request("POST", "/api/attachments", { form });
  }

  /** The attachment's bytes (downloads need the bearer token, so no plain link). @returns {Promise<Blob>} */
  async downloadAttachment(/** @type {Attachment|string} */ attachment) {
    const url = typeof attachment === "string" ? attachment : attachment.url;
    const response = await this._send("GET", url, {}, await this.token());
    if (!response.ok) throw new ChatApiError(response.status, await response.json().catch(() => ({})));
    return response.blob();
  }

  // --- HTTP ---------------------------------------------------------------------------------------

  /**
   * An authenticated call: refreshes an expiring token first, and once more on a 401.
   * Network failures and 503s are retried `retries` times with backoff (only for idempotent calls).
   * @param {string} method @param {string} path
   * @param {{body?: unknown, query?: Record<string, unknown>, form?: FormData, headers?: Record<string, string>, retries?: number}} [options]
   */
  async request(method, path, options = {}) {
    const retries = options.retries ?? (method === "GET" ? 3 : 0);
    for (let attempt = 0; ; attempt++) {
      try {
        let response = await this._send(method, path, options, await this.token());
        if (response.status === 401) response = await this._send(method, path, options, await this.refresh());
        return await this._parse(response);
      } catch (error) {
        const transient = !(error instanceof ChatApiError) || error.status === 503;
        if (!transient || attempt >= retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, this._backoff(attempt)));
      }
    }
  }

  /** An unauthenticated call (register, login, refresh). */
  async _raw(/** @type {string} */ method, /** @type {string} */ path, options = {}) {
    return this._parse(await this._send(method, path, options, null));
  }

  /** @param {string} method @param {string} path @param {{body?: unknown, query?: Record<string, unknown>, form?: FormData, headers?: Record<string, string>}} options @param {string|null} token */
  _send(method, path, options, token) {
    const url = new URL(this.baseUrl + path, globalThis.location?.href);
    for (const [key, value] of Object.entries(options.query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    /** @type {Record<string, string>} */ const headers = { ...options.headers };
    let body;
    if (options.form) body = options.form;
    else if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    return this._fetch(url, { method, headers, body });
  }

  /** @param {Response} response */
  async _parse(response) {
    if (response.status === 204) return null;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ChatApiError(response.status, body);
    return body;
  }

  /** Exponential backoff with jitter: half fixed, half random, capped. */
  _backoff(/** @type {number} */ attempt) {
    const ceiling = Math.min(this.maxBackoffMs, 500 * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  // --- socket -------------------------------------------------------------------------------------

  /**
   * Remember that `message` was seen (history pages, REST answers do not need it: only what moves the
   * resume cursor forward). Messages at or below a chat's cursor are dropped as duplicates.
   * @param {{chat_id: number, seq: number, version?: number}} message
   */
  track(message) {
    if (message.seq > (this.seqs.get(message.chat_id) || 0)) this.seqs.set(message.chat_id, message.seq);
    if ((message.version || 0) > (this.versions.get(message.chat_id) || 0)) {
      this.versions.set(message.chat_id, message.version || 0);
    }
  }

  /** Open the socket and keep it open: reconnect with backoff, `resume` from `seqs`, renew before expiry. */
  async connect() {
    this._wanted = true;
    if (this._connecting || (this.socket && this.socket.readyState <= 1)) return;
    clearTimeout(this._retryTimer);
    this._emit("status", { state: "connecting" });
    this._connecting = true;
    let socket;
    try {
      const token = await this.token();
      // resume=1: our first frame is always `resume`, so the server holds live messages for it.
      const wsBase = this.baseUrl.replace(/^http/, "ws") + "/api/ws?resume=1";
      if (this.wsAuth === "subprotocol") {
        socket = new this._WebSocket(wsBase, ["chat", `bearer.${token}`]);
      } else {
        const { ticket } = await this.request("POST", "/api/ws/ticket");
        socket = new this._WebSocket(`${wsBase}&ticket=${encodeURIComponent(ticket)}`);
      }
    } catch (error) {
      if (error instanceof ChatApiError && (error.status === 401 || error.status === 403)) return;
      this._retry();
      return;
    } finally {
      this._connecting = false;
    }
    if (!this._wanted) return socket.close(1000);
    this.socket = socket;
    socket.onopen = () => {
      // First frame: the server replays what we lack before any live message.
      const chats = Object.fromEntries(this.seqs);
      const versions = Object.fromEntries(this.versions);
      socket.send(JSON.stringify({ type: "resume", payload: { chats, versions } }));
      this._emit("status", { state: "open" });
    };
    socket.onmessage = (event) => this._onFrame(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this._wanted) return this._emit("status", { state: "closed" });
      // 4403: account disabled; 4410: this session ended (a password change, logout, refresh-token reuse).
      if (event.code === 4403 || event.code === 4410) return this._loggedOut();
      if (event.code === 4401) this.accessToken = null; // the next attempt refreshes first
      this._retry();
    };
  }

  _retry() {
    if (!this._wanted) return;
    // A `server_busy` answer names when to come back: a slot in the server's own queue, jittered. That wait
    // replaces the backoff, whose step stays: the server answered and paces us, it did not fail, and a
    // growing backoff on top would leave it idle under a storm.
    const busy = this._busyRetryMs || 0;
    const delay = busy > 0 ? busy : this._backoff(this._attempt++);
    this._busyRetryMs = 0;
    this._emit("status", { state: "closed", retryInMs: Math.round(delay) });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Close the socket for good (until the next `connect()`). */
  disconnect() {
    this._wanted = false;
    clearTimeout(this._retryTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
  }

  /** Whether the socket is open now. */
  get connected() {
    return !!this.socket && this.socket.readyState === 1;
  }

  /** Send a frame if the socket is open; false otherwise. @param {string} type @param {object} payload */
  _sendFrame(type, payload) {
    if (!this.connected) return false;
    /** @type {WebSocket} */ (this.socket).send(JSON.stringify({ type, payload }));
    return true;
  }

  /** Tell the chat you are typing (the server rate-limits it to one per 2 s). */
  typing(/** @type {number} */ chatId) {
    return this._sendFrame("typing", { chat_id: chatId });
  }

  // --- outbox: sends over the socket, answered each ----------------------------------------------

  /**
   * @typedef {{payload: {chat_id: number, content: string, client_id: string, reply_to?: number,
   *   attachment_ids?: number[]}, socket: WebSocket|null, promise: Promise<Message>,
   *   resolve: (m: Message) => void, reject: (e: Error) => void}} OutboxEntry
   */

  /**
   * Send a message over the socket. It waits in `outbox` until the server answers its `client_id`:
   * resolves with the stored message (its `new_message`, or the copy a `resume` or a resync brings), or
   * rejects with a ChatApiError (status 0, the error frame's `code`) when sending it again cannot help
   * (not a member, empty, too long, ...). Until then it is sent whenever the socket is open, and sent
   * again with the same `client_id` after a reconnect, or after a `rate_limited` answer's `retry_after`
   * (the whole outbox waits that long); the server stores a client_id once, so that is safe. At most
   * `maxInFlight` sends are on the wire unanswered (default 1: your messages land in the order queued);
   * each rate-limit pause halves that window and each stored send widens it by one again.
   * It leaves once `connect()` has opened the socket. Logging out rejects what is still queued.
   * @param {{chatId: number, content: string, replyTo?: number|null, attachmentIds?: number[], clientId?: string}} m
   * @returns {Promise<Message>}
   */
  queueMessage({ chatId, content, replyTo = null, attachmentIds = [], clientId = newClientId() }) {
    const queued = this.outbox.get(clientId);
    if (queued) return queued.promise;
    /** @type {OutboxEntry["payload"]} */ const payload = { chat_id: chatId, content, client_id: clientId };
    if (replyTo) payload.reply_to = replyTo;
    if (attachmentIds.length) payload.attachment_ids = attachmentIds;
    /** @type {(m: Message) => void} */ let resolve = () => {};
    /** @type {(e: Error) => void} */ let reject = () => {};
    /** @type {Promise<Message>} */ const promise = new Promise((yes, no) => {
      resolve = yes;
      reject = no;
    });
    this.outbox.set(clientId, { payload, socket: null, promise, resolve, reject });
    this._outboxPump();
    return promise;
  }

  /** Send what the outbox may now: in order, at most its window unanswered on this socket, none while paused. */
  _outboxPump() {
    clearTimeout(this._outboxTimer);
    const socket = this.socket;
    if (!this.outbox.size || !socket || socket.readyState !== 1) return;
    const wait = this._outboxPausedUntil - Date.now();
    if (wait > 0) {
      this._outboxTimer = setTimeout(() => this._outboxPump(), wait);
      return;
    }
    // A send is in flight only on the socket it went out on: after a reconnect every one goes again.
    let inFlight = 0;
    for (const entry of this.outbox.values()) if (entry.socket === socket) inFlight++;
    for (const entry of this.outbox.values()) {
      if (inFlight >= Math.floor(this._outboxWindow)) break;
      if (entry.socket === socket) continue;
      entry.socket = socket;
      socket.send(JSON.stringify({ type: "send_message", payload: entry.payload }));
      inFlight++;
    }
  }

  /** A message of ours (live, replayed or paged) answers the outbox send with its client_id. @param {Message} message */
  _outboxStored(message) {
    const entry = message.client_id ? this.outbox.get(message.client_id) : undefined;
    if (!entry || message.sender_id !== this.user?.id || message.chat_id !== entry.payload.chat_id) return;
    this.outbox.delete(entry.payload.client_id);
    this._outboxWindow = Math.min(this.maxInFlight, this._outboxWindow + 1);
    entry.resolve(message);
    this._outboxPump();
  }

  /**
   * An error frame naming an outbox send: wait and send it again (rate limits, an outage), or give up on it.
   * True when it answered an outbox send. @param {{message: string, code: string, client_id?: string, retry_after?: number}} error
   */
  _outboxRefused(error) {
    const entry = error.client_id ? this.outbox.get(error.client_id) : undefined;
    if (!entry) return false;
    if (error.code === "rate_limited" || error.code === "service_unavailable") {
      entry.socket = null;
      const seconds = error.code === "rate_limited" ? Number(error.retry_after) || 1 : 1;
      const now = Date.now();
      // The first refusal of a pause halves the window, so a client over the server's rates backs off
      // (as TCP does) instead of sending all again at once and being closed for flooding (1008).
      if (now >= this._outboxPausedUntil) this._outboxWindow = Math.max(1, this._outboxWindow / 2);
      this._outboxPausedUntil = Math.max(this._outboxPausedUntil, now + seconds * 1000);
    } else {
      this.outbox.delete(entry.payload.client_id);
      entry.reject(new ChatApiError(0, { ...error, error: error.message }));
    }
    this._outboxPump();
    return true;
  }

  /** Reject and forget every queued send. @param {Error} error */
  _outboxFailAll(error) {
    clearTimeout(this._outboxTimer);
    const entries = [...this.outbox.values()];
    this.outbox.clear();
    for (const entry of entries) entry.reject(error);
  }

  /** @param {{type: string, payload: any}} frame */
  async _onFrame({ type, payload }) {
    switch (type) {
      case "new_message":
        // Before the duplicate check: the answer to a repeated client_id is a message seen already.
        this._outboxStored(payload);
        if (payload.seq <= (this.seqs.get(payload.chat_id) || 0)) return; // seen already
        this.track(payload);
        return this._emit("message", payload);
      case "message_updated":
      case "message_deleted":
      case "reaction_added":
      case "reaction_removed": {
        const chatId = payload.chat_id;
        if ((payload.version || 0) > (this.versions.get(chatId) || 0)) this.versions.set(chatId, payload.version);
        return this._emit(type, payload);
      }
      case "chat_created":
        this._newChat(payload);
        return this._emit(type, payload);
      case "member_added":
        if (payload.user_id === this.user?.id && payload.chat) this._newChat(payload.chat);
        return this._emit(type, payload);
      case "resumed":
        this._attempt = 0;
        // After the replay, which may have answered some: send the outbox's unanswered again.
        this._outboxPump();
        return this._emit("resumed", payload);
      case "error":
        // A process shedding a handshake storm says when to come back; the close (1013) follows.
        if (payload.code === "server_busy" && payload.retry_after) {
          this._busyRetryMs = payload.retry_after * 1000;
          return;
        }
        // One the outbox handles (retries, or rejects the send's promise) is not an `error` event.
        if (this._outboxRefused(payload)) return;
        return this._emit(type, payload);
      case "resync_required":
        return this._resync(payload.chat_id);
      default:
        return this._emit(type, payload);
    }
  }

  /** Beyond the replay limit: page the missing messages over REST, in order. */
  async _resync(/** @type {number} */ chatId) {
    for (;;) {
      const page = await this.history(chatId, { afterSeq: this.seqs.get(chatId) || 0, limit: 100 });
      if (!page.length) return;
      for (const message of page) {
        this._outboxStored(message);
        if (message.seq <= (this.seqs.get(chatId) || 0)) continue;
        this.track(message);
        this._emit("message", message);
      }
    }
  }

  /** @param {string} type @param {unknown} detail */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
