// Start, stop and reboot buttons: only those /v1/whoami allows for the server; each shows
// that it runs until the daemon answers (an operation waits for the kernel), then calls done.
import * as api from './api.js';
import { h } from './dom.js';
import { act } from './shell.js';

const LABELS = { start: ['Start', 'Starting…'], stop: ['Stop', 'Stopping…'], reboot: ['Reboot', 'Rebooting…'] };

export function powerButtons(name, actions, state, done) {
  return ['start', 'stop', 'reboot'].filter((a) => actions.includes(a)).map((a) => {
    const off = a === 'start' ? state === 'running' || state === 'starting' : state !== 'running';
    const b = h('button', { type: 'button', class: a === 'stop' ? 'warn' : '', disabled: off,
      'aria-label': `${LABELS[a][0]} ${name}`,
      onclick: () => act(b, LABELS[a][1], async () => {
        done(await api.call('POST', `/v1/servers/${name}/actions/${a}`));
      }) }, LABELS[a][0]);
    return b;
  });
}
