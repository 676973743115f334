// What every view shares: the signed-in principal, the event listeners of the view shown,
// and the page's feedback (errors as the API worded them, a status line, busy buttons).
const errorBox = document.getElementById('error');
const statusBox = document.getElementById('status');

export const app = {
  me: null,            // /v1/whoami
  route: 0,            // the view's number: a render that awaited past a newer one stops
  listeners: new Set(), // (event) => void, for the view shown
  stopStream: null,
  cleanup: null,        // the view's own teardown (a console's socket)
};

export function showError(e) {
  errorBox.textContent = e instanceof Error ? e.message : String(e);
  errorBox.hidden = false;
}

export function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = '';
}

// Said to screen readers (a polite live region), not shown.
export function announce(text) {
  const a = document.getElementById('announce');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}

// Coalesce calls per key: fn(key) runs once, 150 ms after the last call for it (a burst of
// events for a server is one read of it).
export function debounce(fn) {
  const timers = new Map();
  return (key) => {
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => { timers.delete(key); fn(key); }, 150));
  };
}

export function showStatus(text) {
  statusBox.textContent = text || '';
  statusBox.hidden = !text;
}

// Run an action with feedback: the button busy while it runs, its error shown as worded.
export async function act(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  clearError();
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

