// The servers page: the caller's servers (the provider: all, with their customer), their
// state kept live by the event stream (a server's row is read again when one of its events
// arrives), this month's traffic from each server's hourly history.
import * as api from './api.js';
import { h, bytes, since } from './dom.js';
import { app, announce, debounce } from './shell.js';
import { powerButtons } from './power.js';

function monthTraffic(stats) {
  const hrs = stats && stats.history && stats.history.hours;
  const mins = stats && stats.history && stats.history.minutes;
  if (!hrs) return null;
  const now = new Date();
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000;
  let sum = 0, lastHour = 0;
  hrs.ts.forEach((t, i) => { if (t >= start) { sum += hrs.rx_bytes[i] + hrs.tx_bytes[i]; lastHour = Math.max(lastHour, t + 3600); } });
  // the hour in progress is still in minutes
  mins.ts.forEach((t, i) => { if (t >= start && t >= lastHour) sum += mins.rx_bytes[i] + mins.tx_bytes[i]; });
  return sum;
}

function row(s, actions, traffic, refresh) {
  return h('tr', { 'data-server': s.name },
    h('th', { scope: 'row' }, h('a', { href: `#/server/${s.name}` }, s.name)),
    h('td', {}, h('span', { class: `state ${s.state}`, 'data-state': s.state }, s.state)),
    app.me.customer === '*' ? h('td', {}, s.customer) : null,
    h('td', {}, s.ip || '–'),
    h('td', {}, `${s.template} v${s.template_version}`),
    h('td', {}, s.state === 'running' ? since(s.started_at) : '–'),
    h('td', {}, `${s.memory_mib} MiB`),
    h('td', {}, traffic === null ? '–' : bytes(traffic)),
    h('td', { class: 'actions' }, powerButtons(s.name, actions, s.state, refresh)));
}

export async function renderServers(view, alive) {
  const [servers, me] = await Promise.all([api.call('GET', '/v1/servers'), api.call('GET', '/v1/whoami')]);
  if (!alive()) return;
  app.me = me;
  const actionsOf = Object.fromEntries(me.servers.map((s) => [s.name, s.actions]));
  const traffic = {};
  const tbody = h('tbody');
  const provider = me.customer === '*';

  // answers can come back out of order (an event's read, then a later one's): only the
  // newest read of a server paints its row; the focus stays on the control it was on, and
  // a new state is said to screen readers
  const seqs = {};
  async function refreshNow(name) {
    const seq = (seqs[name] = (seqs[name] || 0) + 1);
    try {
      const s = await api.call('GET', `/v1/servers/${name}`);
      if (seq !== seqs[name] || !alive()) return;
      const old = tbody.querySelector(`tr[data-server="${name}"]`);
      const was = old && old.querySelector('[data-state]')?.getAttribute('data-state');
      const focused = old && old.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
      const fresh = row(s, actionsOf[name] || [], traffic[name] ?? null, () => refresh(name));
      if (old) old.replaceWith(fresh); else tbody.append(fresh);
      if (focused) {
        const b = fresh.querySelector(`[aria-label="${CSS.escape(focused)}"]`);
        (b && !b.disabled ? b : fresh.querySelector('a')).focus();
      }
      if (was && was !== s.state) announce(`${name} is ${s.state}`);
    } catch (e) {
      if (seq === seqs[name] && e.status === 404) tbody.querySelector(`tr[data-server="${name}"]`)?.remove();
    }
  }

  const refresh = debounce(refreshNow);
  for (const s of servers) tbody.append(row(s, actionsOf[s.name] || [], null, () => refresh(s.name)));
  view.replaceChildren(
    h('h1', {}, provider ? 'All servers' : 'Your servers'),
    servers.length ? h('div', { class: 'scroll' }, h('table', { class: 'servers', 'aria-label': 'Servers' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'State'),
        provider ? h('th', { scope: 'col' }, 'Customer') : null,
        h('th', { scope: 'col' }, 'Address'), h('th', { scope: 'col' }, 'Template'),
        h('th', { scope: 'col' }, 'Up'), h('th', { scope: 'col' }, 'Memory'),
        h('th', { scope: 'col' }, 'Traffic this month'), h('th', { scope: 'col' }, 'Actions'))),
      tbody)) : h('p', { class: 'muted' }, 'No servers yet.'));
  performance.mark('servers-rendered');
  app.listeners.add((ev) => { if (actionsOf[ev.instance]) refresh(ev.instance); });
  // traffic after the table is up: one stats read per server
  for (const s of servers) {
    if (!(actionsOf[s.name] || []).includes('read')) continue;
    api.call('GET', `/v1/servers/${s.name}/stats`).then((st) => {
      traffic[s.name] = monthTraffic(st);
      const td = tbody.querySelector(`tr[data-server="${s.name}"] td:nth-last-child(2)`);
      if (td) td.textContent = bytes(traffic[s.name]);
    }).catch(() => {});
  }
}
