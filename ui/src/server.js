// One server: its details and power buttons, the browser console, the traffic graph (24 h
// or 30 days), its backups ("back up now", restore after typing the server's name) and its
// recent events; live through the event stream.
import * as api from './api.js';
import { h, bytes, since, when } from './dom.js';
import { app, act, showError, announce, debounce } from './shell.js';
import { powerButtons } from './power.js';
import { openConsole } from './console.js';
import { drawTraffic } from './graph.js';

function details(s) {
  const dl = h('dl', { class: 'details' });
  const add = (k, v) => dl.append(h('dt', {}, k), h('dd', {}, v));
  add('State', h('span', { class: `state ${s.state}`, 'data-state': s.state }, s.state));
  add('Address', s.ip || '–');
  add('Template', `${s.template} v${s.template_version}`);
  add('Memory', `${s.memory_mib} MiB`);
  add('Up', s.state === 'running' ? since(s.started_at) : '–');
  add('Restarts', s.restarts);
  return dl;
}

export async function renderServer(view, name, alive) {
  const [s, me] = await Promise.all([api.call('GET', `/v1/servers/${name}`), api.call('GET', '/v1/whoami')]);
  if (!alive()) return;
  app.me = me;
  const actions = (me.servers.find((x) => x.name === name) || { actions: [] }).actions;
  const head = h('div', { class: 'head' });
  const consoleBox = h('div', { class: 'term', id: 'console', 'aria-label': `Console of ${name}` });
  const consoleStatus = h('p', { class: 'muted', role: 'status' });
  const graphBox = h('div', { class: 'graph', id: 'graph' });
  const backupList = h('ul', { class: 'backups', 'aria-label': 'Backups' });
  const events = h('ol', { class: 'events', 'aria-label': 'Recent events', reversed: true });
  let con = null, span = 'minutes', history = null;

  let shown = s.state;
  function paintHead(cur) {
    const focused = head.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
    head.replaceChildren(h('h1', {}, cur.name), details(cur),
      h('div', { class: 'actions' }, powerButtons(name, actions, cur.state, () => reread(name))));
    if (focused) {
      const b = head.querySelector(`[aria-label="${CSS.escape(focused)}"]`);
      if (b && !b.disabled) b.focus();
      else { const t = head.querySelector('h1'); t.tabIndex = -1; t.focus(); }
    }
    if (cur.state !== shown) announce(`${name} is ${cur.state}`);
    shown = cur.state;
  }
  let seq = 0; // only the newest read paints (answers can come back out of order)
  const reread = debounce(async () => {
    const mine = ++seq;
    try {
      const cur = await api.call('GET', `/v1/servers/${name}`);
      if (mine === seq && alive()) paintHead(cur);
    } catch (e) { showError(e); }
  });

  async function graph() {
    if (!actions.includes('read')) return;
    const st = await api.call('GET', `/v1/servers/${name}/stats`);
    history = st.history;
    await drawTraffic(graphBox, history[span], Math.min(900, view.clientWidth - 32));
  }
  async function backups() {
    if (!actions.includes('backups')) return;
    const list = await api.call('GET', `/v1/servers/${name}/backups`);
    list.sort((a, b) => b.created - a.created);
    backupList.replaceChildren(...(list.length ? list.map((b) => h('li', { 'data-backup': b.id },
      h('span', {}, `${when(b.created * 1000)} · ${bytes(b.bytes)}`), ' ', h('code', {}, b.id), ' ',
      actions.includes('restore') ? restoreButton(b.id) : null)) : [h('li', { class: 'muted' }, 'No backups yet.')]));
  }
  function restoreButton(id) {
    const b = h('button', { type: 'button', class: 'warn', 'aria-label': `Restore ${name} from ${id}`,
      onclick: () => {
        const typed = window.prompt(`Restoring replaces ${name}'s disk with backup ${id} (a safety backup is made first). Type the server's name to go on:`);
        if (typed === null) return;
        if (typed !== name) { showError(`The name typed (${typed}) is not ${name}: nothing was restored.`); return; }
        act(b, 'Restoring…', async () => {
          await api.call('POST', `/v1/servers/${name}/backups/${id}/restore`);
          await Promise.all([reread(name), backups()]);
        });
      } }, 'Restore');
    return b;
  }

  const sections = [head];
  if (actions.includes('console')) {
    const openB = h('button', { type: 'button', id: 'open-console' }, 'Open console');
    const takeB = h('button', { type: 'button', hidden: true }, 'Take over');
    openB.addEventListener('click', () => act(openB, 'Opening…', async () => {
      if (con) con.close();
      con = await openConsole(consoleBox, name, (text, mode) => {
        consoleStatus.textContent = text;
        takeB.hidden = mode !== 'read-only';
      });
      app.cleanup = () => { if (con) con.close(); };
    }));
    takeB.addEventListener('click', () => con && con.takeOver());
    sections.push(h('section', { 'aria-labelledby': 'h-console' }, h('h2', { id: 'h-console' }, 'Console'),
      h('div', { class: 'actions' }, openB, takeB), consoleStatus, consoleBox));
  }
  if (actions.includes('read')) {
    const pick = (which, label) => h('button', { type: 'button', 'aria-pressed': String(span === which),
      onclick: async (ev) => { span = which; for (const b of ev.target.parentNode.children) b.setAttribute('aria-pressed', String(b === ev.target)); if (history) await drawTraffic(graphBox, history[span], Math.min(900, view.clientWidth - 32)); } }, label);
    sections.push(h('section', { 'aria-labelledby': 'h-traffic' }, h('h2', { id: 'h-traffic' }, 'Traffic'),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Period' }, pick('minutes', '24 hours'), pick('hours', '30 days')), graphBox));
  }
  if (actions.includes('backups')) {
    const now = h('button', { type: 'button', id: 'backup-now' }, 'Back up now');
    now.addEventListener('click', () => act(now, 'Backing up…', async () => {
      await api.call('POST', `/v1/servers/${name}/backups`);
      await backups();
    }));
    sections.push(h('section', { 'aria-labelledby': 'h-backups' }, h('h2', { id: 'h-backups' }, 'Backups'),
      actions.includes('backup') ? h('div', { class: 'actions' }, now) : null, backupList));
  }
  sections.push(h('section', { 'aria-labelledby': 'h-events' }, h('h2', { id: 'h-events' }, 'Recent events'), events));
  view.replaceChildren(...sections);
  paintHead(s);
  const addEvent = (ev) => {
    events.prepend(h('li', {}, h('time', {}, when(ev.ts_ms)), ' ', h('b', {}, ev.type), ' ', ev.message));
    while (events.children.length > 20) events.lastChild.remove();
  };
  app.listeners.add((ev) => {
    if (ev.instance !== name) return;
    addEvent(ev);
    reread(name);
  });
  await Promise.all([graph().catch(showError), backups().catch(showError),
    api.recentEvents(name, 20).then((l) => { if (alive()) l.forEach(addEvent); }).catch(showError)]);
}
