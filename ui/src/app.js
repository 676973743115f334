// The panel: sign-in, then one of three views by the address's #fragment:
//   #/            the customer's servers (or, for the provider, every server)
//   #/server/NAME one server: power, console, traffic, backups, events
//   #/provider    the provider's view: servers by customer, memory, customers and tokens
// One event stream feeds every view (live states, no polling).
import * as api from './api.js';
import { h } from './dom.js';
import { app, act, showError, clearError, showStatus } from './shell.js';
import { renderServers } from './servers.js';
import { renderServer } from './server.js';
import { renderProvider } from './provider.js';

const view = document.getElementById('view');
const who = document.getElementById('who');
const nav = document.getElementById('nav');
const signout = document.getElementById('signout');

function isProvider() {
  return app.me && app.me.customer === '*';
}

function renderNav() {
  nav.replaceChildren(
    h('a', { href: '#/' }, 'Servers'),
    isProvider() ? h('a', { href: '#/provider' }, 'Provider') : null,
  );
}

function signInForm(message) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off',
    required: true, spellcheck: 'false', placeholder: 'uh_…' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-label': 'Sign in',
    onsubmit: async (ev) => {
      ev.preventDefault();
      await act(button, 'Signing in…', async () => {
        await api.signIn(input.value.trim());
        input.value = '';
        await start();
      });
    } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'Paste an API token (uh_…) your provider gave you. It is sent once; the browser keeps a session cookie.'),
  h('label', { for: 'token' }, 'API token'), input, button,
  message ? h('p', { class: 'muted' }, message) : null);
  who.textContent = '';
  signout.hidden = true;
  nav.replaceChildren();
  view.replaceChildren(form);
  input.focus();
}

async function route() {
  if (!app.me) return;
  if (app.cleanup) { app.cleanup(); app.cleanup = null; }
  app.listeners.clear();
  clearError();
  const hash = location.hash || '#/';
  const m = hash.match(/^#\/server\/([a-z0-9][a-z0-9-]{0,31})$/);
  const mine = ++app.route;
  const alive = () => mine === app.route; // a newer view was asked for meanwhile: stop
  try {
    if (m) await renderServer(view, m[1], alive);
    else if (hash === '#/provider' && isProvider()) await renderProvider(view, alive);
    else await renderServers(view, alive);
    if (alive()) view.focus({ preventScroll: true });
  } catch (e) {
    if (!alive()) return;
    if (e.status === 401) { stop(); signInForm(e.message); return; }
    view.replaceChildren(h('p', { class: 'muted' }, 'This page could not be shown.'));
    showError(e);
  }
}

function stop() {
  if (app.cleanup) { app.cleanup(); app.cleanup = null; }
  app.listeners.clear();
  app.route++;
  if (app.stopStream) app.stopStream();
  app.stopStream = null;
  app.me = null;
}

async function start() {
  app.me = await api.call('GET', '/v1/whoami');
  who.textContent = app.me.customer === '*' ? 'provider' : app.me.customer;
  signout.hidden = false;
  renderNav();
  app.stopStream = api.follow(
    (ev) => { for (const fn of app.listeners) fn(ev); },
    (up, why) => {
      if (why === 'signed out') { stop(); signInForm('The session ended: sign in again.'); return; }
      showStatus(up ? '' : 'Connection lost: reconnecting…');
    });
  await route();
}

signout.addEventListener('click', async () => {
  await act(signout, 'Signing out…', async () => {
    stop();
    await api.signOut();
    signInForm('Signed out.');
  });
});
window.addEventListener('hashchange', route);

(async () => {
  try {
    if (await api.resume()) await start();
    else signInForm();
  } catch (e) {
    signInForm();
    showError(e);
  }
})();
