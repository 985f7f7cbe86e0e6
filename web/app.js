// The onboard web chat: vanilla JS, no network beyond this server.
const $ = (id) => document.getElementById(id);
const state = { conversations: [], current: null, answering: null, info: null, ux: { requiresDistractionOptimization: false, restrictions: [], maxStringLength: 120, maxContentItems: 2 } };

/** Questions a driver can ask with one touch while the keyboard is off (NO_KEYBOARD). */
const PRESETS = ['Where is the nearest charging station?', 'How long until I should take a break?', 'What does the tyre pressure warning mean?', 'Give me a one-line summary of the weather.'];

/** Reads a server-sent event stream to its end, calling `onEvent(name, data)` with each event's JSON data. */
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(raw)?.[1];
      if (data !== undefined) onEvent(/^event: (.*)$/m.exec(raw)?.[1] ?? 'message', JSON.parse(data));
    }
  }
}

// ---- driving restrictions (Android Automotive's CarUxRestrictions) ----------
const restricted = (flag) => state.ux.requiresDistractionOptimization && state.ux.restrictions.includes(flag);

/** Text as the restrictions allow it: cut to the allowed length while LIMIT_STRING_LENGTH is on. */
function displayText(text) {
  if (!restricted('LIMIT_STRING_LENGTH') || text.length <= state.ux.maxStringLength) return { text, cut: false };
  return { text: `${text.slice(0, state.ux.maxStringLength - 1).trimEnd()}…`, cut: true };
}

function applyRestrictions() {
  const body = document.body;
  body.dataset.driving = String(state.ux.requiresDistractionOptimization);
  for (const flag of ['NO_KEYBOARD', 'LIMIT_CONTENT', 'NO_SETUP', 'LIMIT_STRING_LENGTH', 'NO_TEXT_MESSAGE']) body.toggleAttribute(`data-${flag.toLowerCase().replaceAll('_', '-')}`, restricted(flag));
  $('presets').hidden = !restricted('NO_KEYBOARD');
  $('driving-note').hidden = !state.ux.requiresDistractionOptimization;
  $('driving-note').textContent = 'Driving: long answers and typing wait until you are parked.';
  if (restricted('NO_SETUP')) $('settings').hidden = true;
  renderMessages();
}

function renderPresets() {
  $('presets').replaceChildren(
    ...PRESETS.map((text) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = text;
      button.addEventListener('click', () => {
        if (state.answering) return;
        $('prompt').value = text;
        send().catch(showError);
      });
      return button;
    }),
  );
}

/** Listens to the restrictions as the vehicle posts them (server-sent events), reconnecting when the stream drops. */
async function watchRestrictions() {
  for (;;) {
    try {
      const response = await api('/api/vehicle/ux-restrictions/events');
      await readEvents(response, (event, data) => {
        if (event !== 'restrictions') return;
        state.ux = data;
        applyRestrictions();
      });
    } catch {
      // the server restarted or the network blinked: try again shortly
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

// A token given once as #token=... is kept for later visits.
const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
if (hashToken) {
  localStorage.setItem('onboard-token', hashToken);
  history.replaceState(null, '', location.pathname);
}
const token = localStorage.getItem('onboard-token');

function api(path, options = {}) {
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return fetch(path, { ...options, headers: { ...headers, ...options.headers } });
}

async function json(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body?.error?.message ?? `HTTP ${response.status}`), { detail: body?.error ?? {}, status: response.status });
  return body;
}

// ---- status and errors -----------------------------------------------------
const STATUS_TEXT = { loading: 'Loading model…', idle: 'Ready', thinking: 'Thinking…', answering: 'Answering…', error: 'Problem' };
function setStatus(status) {
  document.body.dataset.state = status;
  $('status-text').textContent = STATUS_TEXT[status];
  $('send').querySelector('.label').textContent = status === 'thinking' || status === 'answering' ? 'Stop' : 'Send';
  $('send').setAttribute('aria-label', status === 'thinking' || status === 'answering' ? 'Stop the answer' : 'Send');
  $('regenerate').disabled = status !== 'idle' || !lastAnswer();
  // One answer at a time: switching chats waits until it ends (or is stopped).
  const busy = status === 'thinking' || status === 'answering';
  $('new-chat').disabled = busy;
  for (const button of $('conversations').querySelectorAll('button')) button.disabled = busy;
}

const FRIENDLY = {
  model_loading: ['The model is still loading.', 'It takes a few seconds after the server starts; try again then.'],
  queue_full: ['Busy: too many requests at once.', 'Wait a moment and send again.'],
  engine_failed: ['The engine stopped and was restarted.', 'Your conversation is safe; send your message again.'],
  model_not_found: ['The model file is missing.', 'Run `onboard models pull` on this device, then restart the server.'],
  context_length_exceeded: ['That message is too long for this model.', 'Shorten it, or start a new chat.'],
  invalid_api_key: ['This server needs an access token.', 'Open the address with #token=<your token> at the end.'],
};
function showError(error) {
  const detail = error.detail ?? {};
  const [title, hint] = FRIENDLY[detail.code] ?? [detail.message ?? error.message ?? String(error), detail.hint ?? 'Try again.'];
  $('error-title').textContent = title;
  $('error-hint').textContent = detail.hint && !FRIENDLY[detail.code] ? detail.hint : hint;
  $('error').hidden = false;
}
$('error-close').addEventListener('click', () => ($('error').hidden = true));

// ---- rendering ---------------------------------------------------------------
function statsText(stats) {
  if (!stats) return '';
  const throttled = stats.thermal?.throttledTokens ? ' · slowed (device warm)' : '';
  return `${stats.decodeTokens} tokens · ${stats.decodeTokensPerSecond.toFixed(1)} tok/s · first token ${Math.round(stats.timeToFirstTokenMs)} ms · ${stats.engine}/${stats.backend}${throttled}`;
}

function messageElement(message) {
  const li = document.createElement('li');
  li.className = `message ${message.role}${message.incomplete ? ' incomplete' : ''}`;
  li.dataset.role = message.role;
  const body = document.createElement('div');
  body.className = 'content';
  const shown = displayText(message.content);
  body.textContent = shown.text;
  li.append(body);
  if (shown.cut) {
    const rest = document.createElement('div');
    rest.className = 'parked-note';
    rest.textContent = 'The rest when parked';
    li.append(rest);
  }
  if (message.role === 'assistant') {
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = statsText(message.stats);
    li.append(meta);
  }
  return li;
}

function renderMessages() {
  const list = $('messages');
  const messages = state.current?.messages ?? [];
  // LIMIT_CONTENT: only the latest items, laid out to fit without scrolling.
  const shown = restricted('LIMIT_CONTENT') ? messages.slice(-state.ux.maxContentItems) : messages;
  list.replaceChildren(...shown.map(messageElement));
  if (!state.current?.messages.length) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    empty.textContent = 'Ask anything. Everything stays on this device.';
    list.append(empty);
  }
  list.scrollTop = list.scrollHeight;
}

function renderConversations() {
  $('conversations').replaceChildren(
    ...state.conversations.map((c) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = c.title;
      button.title = c.title;
      button.setAttribute('aria-current', String(c.id === state.current?.id));
      button.disabled = Boolean(state.answering);
      button.addEventListener('click', () => openConversation(c.id).catch(showError));
      return button;
    }),
  );
}

/** The settings inputs and the field of the server's sampling contract each edits. */
const SETTING_INPUTS = { temperature: 'temperature', 'top-p': 'topP', 'max-tokens': 'maxTokens' };

/** Ranges and defaults come from the server (/api/info), which has them from the core's sampling contract. */
function renderSettings() {
  const c = state.current;
  const contract = state.info?.sampling ?? {};
  $('system-prompt').value = c?.systemPrompt ?? '';
  for (const [id, field] of Object.entries(SETTING_INPUTS)) {
    const input = $(id);
    const rule = contract[field] ?? {};
    if (rule.min !== undefined) input.min = rule.min;
    if (rule.max !== undefined) input.max = rule.max;
    input.step = rule.integer ? '1' : 'any';
    input.value = c?.settings[field] ?? rule.default ?? '';
  }
}

const lastAnswer = () => {
  const last = state.current?.messages.at(-1);
  return last?.role === 'assistant' ? last : undefined;
};

// ---- data --------------------------------------------------------------------
async function loadConversations() {
  state.conversations = await json(await api('/api/conversations'));
  renderConversations();
}

async function openConversation(id) {
  state.current = await json(await api(`/api/conversations/${id}`));
  localStorage.setItem('onboard-conversation', id);
  renderConversations();
  renderMessages();
  renderSettings();
  setStatus(document.body.dataset.state === 'loading' ? 'loading' : 'idle');
}

async function newConversation() {
  if (state.answering) return;
  const created = await json(await api('/api/conversations', { method: 'POST', body: '{}' }));
  await loadConversations();
  await openConversation(created.id);
  $('prompt').focus();
}

/** The device's thermal state: nothing while normal; a badge while answers are slowed or refused. */
function renderThermal(thermal) {
  const badge = $('thermal');
  const state = thermal?.state ?? 'normal';
  document.body.dataset.thermal = state;
  badge.hidden = state === 'normal';
  if (state === 'normal') return;
  const where = thermal.zone ? ` (${thermal.zone.type} ${Math.round(thermal.zone.tempC)} °C)` : '';
  badge.textContent = state === 'critical' ? `Too hot: answers paused${where}` : `Warm: answers slowed${where}`;
}

async function pollInfo() {
  // The settings inputs take their ranges from the first answer.
  const firstInfo = !state.info;
  try {
    state.info = await json(await api('/api/info'));
  } catch (error) {
    showError(error);
    setStatus('error');
    return;
  }
  const info = state.info;
  if (firstInfo) renderSettings();
  $('model').textContent = info.engine ? `${info.model} · ${info.engine} on ${info.backend} · context ${info.contextSize}` : info.model;
  $('model').title = info.backendReason ?? '';
  renderThermal(info.thermal);
  // Every second while loading, then every 5 s: the thermal state changes while the page is open.
  setTimeout(pollInfo, info.status === 'loading' ? 1000 : 5000);
  if (info.status === 'loading') {
    setStatus('loading');
  } else if (info.status === 'error') {
    setStatus('error');
    showError({ detail: info.error });
  } else if (!state.answering) setStatus('idle');
}

// ---- streaming an answer -----------------------------------------------------
async function streamAnswer(path, body) {
  const controller = new AbortController();
  const conversation = state.current; // the answer belongs to it, even if the user looks elsewhere
  const visible = () => state.current === conversation;
  controller.conversationId = conversation.id;
  state.answering = controller;
  setStatus('thinking');
  $('error').hidden = true;
  const reply = { role: 'assistant', content: '', incomplete: false };
  let element;
  try {
    const response = await api(path, { method: 'POST', body: JSON.stringify(body), signal: controller.signal });
    if (!response.ok) await json(response);
    await readEvents(response, (event, data) => {
      if (event === 'start') {
        conversation.messages.push(reply);
        element = messageElement(reply);
        if (visible()) {
          $('messages').querySelector('.empty')?.remove();
          $('messages').append(element);
        }
      } else if (event === 'token') {
        setStatus('answering');
        reply.content += data.text;
        element.querySelector('.content').textContent = displayText(reply.content).text;
        if (visible()) $('messages').scrollTop = $('messages').scrollHeight;
      } else if (event === 'done') {
        Object.assign(reply, { incomplete: data.incomplete, stats: data.stats, id: data.messageId });
        const finished = messageElement(reply);
        element.replaceWith(finished);
        element = finished;
      } else if (event === 'error') {
        throw Object.assign(new Error(data.message), { detail: data });
      }
    });
  } catch (error) {
    if (error.name !== 'AbortError') showError(error);
  } finally {
    state.answering = null;
    if (visible()) await openConversation(conversation.id); // what the server saved, stopped answers included
    else setStatus('idle');
    await loadConversations();
  }
}

async function send() {
  const text = $('prompt').value.trim();
  if (!text || state.answering) return;
  if (!state.current) await newConversation();
  $('prompt').value = '';
  state.current.messages.push({ role: 'user', content: text });
  renderMessages();
  await streamAnswer(`/api/conversations/${state.current.id}/messages`, { content: text });
}

// ---- wiring ------------------------------------------------------------------
async function stop() {
  // The server ends the answer and saves it before the stream closes; the stream then ends normally.
  const id = state.answering?.conversationId;
  if (!id) return;
  try {
    await json(await api(`/api/conversations/${id}/stop`, { method: 'POST' }));
  } catch {
    state.answering?.abort(); // the server is unreachable: at least stop listening
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  if (state.answering) stop();
  else send();
});
$('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (!state.answering) send();
  }
});
$('regenerate').addEventListener('click', () => {
  if (!state.current || state.answering || !lastAnswer()) return;
  state.current.messages.pop();
  renderMessages();
  streamAnswer(`/api/conversations/${state.current.id}/regenerate`, {});
});
$('new-chat').addEventListener('click', () => newConversation().catch(showError));
$('settings-toggle').addEventListener('click', () => {
  const open = $('settings').hidden;
  $('settings').hidden = !open;
  $('settings-toggle').setAttribute('aria-expanded', String(open));
});
$('settings-save').addEventListener('click', async () => {
  if (!state.current) await newConversation();
  const settings = Object.fromEntries(Object.entries(SETTING_INPUTS).filter(([id]) => $(id).value !== '').map(([id, field]) => [field, Number($(id).value)]));
  try {
    await json(await api(`/api/conversations/${state.current.id}`, { method: 'PATCH', body: JSON.stringify({ systemPrompt: $('system-prompt').value, settings }) }));
    await openConversation(state.current.id);
    $('settings').hidden = true;
    $('settings-toggle').setAttribute('aria-expanded', 'false');
  } catch (error) {
    showError(error);
  }
});
$('delete-chat').addEventListener('click', async () => {
  if (!state.current) return;
  await api(`/api/conversations/${state.current.id}`, { method: 'DELETE' });
  state.current = null;
  localStorage.removeItem('onboard-conversation');
  await loadConversations();
  if (state.conversations[0]) await openConversation(state.conversations[0].id);
  else renderMessages();
});

(async () => {
  renderPresets();
  watchRestrictions();
  pollInfo();
  await loadConversations().catch(showError);
  const remembered = localStorage.getItem('onboard-conversation');
  const first = state.conversations.find((c) => c.id === remembered) ?? state.conversations[0];
  if (first) await openConversation(first.id).catch(showError);
  else renderMessages();
})();
