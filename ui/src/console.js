// The browser console: xterm.js (loaded only when a console opens) over the console
// WebSocket. A ticket first (POST /v1/servers/NAME/console), then wss://.../v1/console?ticket=;
// the daemon replays the console's last 64 KiB, then relays. Keystrokes go as binary frames,
// control messages (resize, take-over, ping) as JSON text; a second viewer reads only until
// it takes over. The terminal follows the window's size.
import * as api from './api.js';
import { h } from './dom.js';

let libs = null;
async function load() {
  if (!libs) {
    const css = h('link', { rel: 'stylesheet', href: '/ui/xterm.css' });
    document.head.append(css);
    libs = Promise.all([import('/ui/xterm.mjs'), import('/ui/addon-fit.mjs')]);
  }
  return libs;
}

export async function openConsole(box, name, onStatus) {
  const [{ Terminal }, { FitAddon }] = await load();
  const ticket = await api.call('POST', `/v1/servers/${name}/console`);
  // the console is a serial line: a bare newline means a new line at its start
  const term = new Terminal({ convertEol: true, cursorBlink: true, fontSize: 14, scrollback: 2000,
    screenReaderMode: true,
    // a guest prints what it likes: a link in it opens only over https, in a new tab
    linkHandler: { activate: (e, uri) => { if (/^https:\/\//.test(uri)) window.open(uri, '_blank', 'noopener,noreferrer'); } },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  box.replaceChildren();
  term.open(box);
  fit.fit();
  const ws = new WebSocket(`wss://${location.host}${ticket.url}`);
  ws.binaryType = 'arraybuffer';
  const enc = new TextEncoder();
  let mode = 'read-only';
  const send = (o) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(o)); };
  const resize = () => { fit.fit(); send({ type: 'resize', cols: term.cols, rows: term.rows }); };
  ws.onmessage = (m) => {
    if (typeof m.data !== 'string') { term.write(new Uint8Array(m.data)); return; }
    let c;
    try { c = JSON.parse(m.data); } catch { return; }
    if (c.type === 'hello' || c.type === 'mode') { mode = c.mode; onStatus(mode === 'write' ? 'You type here.' : 'Read-only: another viewer types.', mode); }
    else if (c.type === 'error') onStatus(c.error, mode);
  };
  ws.onclose = (e) => onStatus(`Console closed${e.reason ? ': ' + e.reason : ''}.`, 'closed');
  ws.onopen = () => { resize(); term.focus(); };
  term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d)); });
  window.addEventListener('resize', resize);
  return {
    term,
    takeOver: () => send({ type: 'takeover' }),
    close: () => { window.removeEventListener('resize', resize); ws.close(); term.dispose(); },
  };
}
