// The provider's view: every server by customer, the host's memory committed against its
// budget, the customers and their tokens (made here with the secret shown once, revoked).
import * as api from './api.js';
import { h, bytes, when } from './dom.js';
import { act, showError } from './shell.js';

export async function renderProvider(view, alive) {
  const [servers, host, customers, tokens] = await Promise.all([
    api.call('GET', '/v1/servers'), api.call('GET', '/v1/host'),
    api.call('GET', '/v1/customers'), api.call('GET', '/v1/tokens')]);
  if (!alive()) return;
  const by = {};
  for (const s of servers) (by[s.customer] ||= []).push(s);
  const pct = host.budget_mib ? Math.round(100 * host.committed_mib / host.budget_mib) : 0;
  const secret = h('p', { class: 'secret', role: 'status' });
  const tokenList = h('ul', { class: 'tokens', 'aria-label': 'Tokens' });

  function paintTokens(list) {
    tokenList.replaceChildren(...list.map((t) => {
      const b = h('button', { type: 'button', class: 'warn', 'aria-label': `Revoke token ${t.id}`,
        onclick: () => act(b, 'Revoking…', async () => {
          await api.call('DELETE', `/v1/tokens/${t.id}`);
          paintTokens(await api.call('GET', '/v1/tokens'));
        }) }, 'Revoke');
      return h('li', {}, h('code', {}, t.id), ` ${t.customer} · ${t.name} · ${t.scopes.join(',')} · `,
        t.expires_at ? `expires ${when(t.expires_at * 1000)}` : 'never expires', ' ', b);
    }));
  }

  const cust = h('select', { id: 'tok-customer', 'aria-label': 'Customer' },
    customers.map((c) => h('option', { value: c.name }, c.name)));
  const tname = h('input', { id: 'tok-name', 'aria-label': 'Token name', required: true, placeholder: 'name' });
  const scopes = h('input', { id: 'tok-scopes', 'aria-label': 'Scopes', value: 'server:read,server:power,server:console,backup:read,backup:create' });
  const make = h('button', { type: 'submit' }, 'Create token');
  const form = h('form', { class: 'row', 'aria-label': 'Create a token',
    onsubmit: (ev) => { ev.preventDefault(); act(make, 'Creating…', async () => {
      const t = await api.call('POST', '/v1/tokens', { customer: cust.value, name: tname.value, scopes: scopes.value });
      secret.textContent = `New token (shown once, copy it now): ${t.token}`;
      paintTokens(await api.call('GET', '/v1/tokens'));
    }); } }, cust, tname, scopes, make);

  view.replaceChildren(
    h('h1', {}, 'Provider'),
    h('section', { 'aria-labelledby': 'h-mem' }, h('h2', { id: 'h-mem' }, 'Host memory'),
      h('p', {}, `${bytes(host.committed_mib * 1048576)} committed to running servers of a budget of ${bytes(host.budget_mib * 1048576)} (${pct}%)`),
      h('progress', { max: host.budget_mib || 1, value: host.committed_mib, 'aria-label': 'Memory committed' })),
    h('section', { 'aria-labelledby': 'h-by' }, h('h2', { id: 'h-by' }, 'Servers by customer'),
      ...Object.keys(by).sort().map((c) => h('div', { class: 'group' }, h('h3', {}, c),
        h('ul', {}, by[c].map((s) => h('li', {}, h('a', { href: `#/server/${s.name}` }, s.name), ' ',
          h('span', { class: `state ${s.state}` }, s.state))))))),
    h('section', { 'aria-labelledby': 'h-tok' }, h('h2', { id: 'h-tok' }, 'Customers and tokens'),
      h('p', {}, `Customers: ${customers.map((c) => c.name).join(', ') || 'none'}`), form, secret, tokenList));
  paintTokens(tokens);
}
