// The panel's one door to the daemon: the /v1 API's JSON, with the session cookie the
// browser keeps (HttpOnly: never seen here) and the CSRF token the page keeps in memory.
// An error is thrown as the API worded it (its one-line "error").

let csrf = null;

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'The host does not answer (is the network up?)');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `${res.status} ${res.statusText}`, data);
  }
  return data;
}

// The last events of one server among the host's latest (newest last).
export async function recentEvents(name, n) {
  const res = await fetch('/v1/events?since=-1000', { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new ApiError(res.status, `events: ${res.status}`);
  const lines = (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return lines.filter((e) => e.instance === name).slice(-n);
}

// A page (re)loaded with a session cookie: its CSRF token, or null when not signed in.
export async function resume() {
  const s = await call('GET', '/ui/session');
  if (!s.signed_in) return null;
  csrf = s.csrf;
  return s;
}

export async function signIn(token) {
  const s = await call('POST', '/ui/session', { token });
  csrf = s.csrf;
  return s;
}

export async function signOut() {
  try { await call('DELETE', '/ui/session'); } finally { csrf = null; }
}

// The event stream (newline-delimited JSON, the customer's servers only): from now on (the
// host's newest event first), each as it happens. A lost stream comes back (1 s, doubling to
// 30 s), from the last event seen. onState(true|false) says whether it is connected.
export function follow(onEvent, onState) {
  let since = -1, delay = 1000, stopped = false, ctl = null;
  async function run() {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const res = await fetch(`/v1/events?follow=1&since=${since}`,
          { credentials: 'same-origin', cache: 'no-store', signal: ctl.signal });
        if (res.status === 401) { onState(false, 'signed out'); return; }
        if (!res.ok || !res.body) throw new Error(`${res.status}`);
        onState(true);
        delay = 1000;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev;
            try { ev = JSON.parse(line); } catch { continue; }
            if (ev.id > since) since = ev.id;
            onEvent(ev);
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      onState(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }
  run();
  return () => { stopped = true; if (ctl) ctl.abort(); };
}
