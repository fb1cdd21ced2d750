// "What leaves your device": the SDK's egress manifest (everything that can ever be sent, by
// purpose, destination and retention) and its egress log (what actually left this browser).
import { markReady, startAttune, trackPageView } from '../attune';
import { byId, clear, h } from '../dom';

const attune = await startAttune();
trackPageView(attune);

function renderManifest(): void {
  const root = byId('manifest');
  clear(root);
  const manifest = attune.egressManifest();
  if (!manifest) {
    root.append(h('p', {}, 'Unavailable right now; nothing is being recorded.'));
    return;
  }
  const head = h(
    'tr',
    {},
    ...['Field', 'Purpose', 'Events', 'Sent as', 'Destination', 'Kept for'].map((t) => h('th', { scope: 'col' }, t)),
  );
  const rows = manifest.rows.map((r) =>
    h(
      'tr',
      { 'data-field': r.field, 'data-purpose': r.purpose },
      h('td', {}, h('code', {}, r.field)),
      h('td', {}, r.purpose),
      h('td', {}, r.events.length ? r.events.join(', ') : 'all'),
      h('td', {}, r.sentAs),
      h('td', {}, r.destination),
      h('td', {}, `${r.retentionDays} days`),
    ),
  );
  root.append(h('table', { id: 'manifest-table', class: 'data-table' }, h('thead', {}, head), h('tbody', {}, ...rows)));
}

function renderLog(): void {
  const root = byId('egress-log');
  clear(root);
  const log = attune.egressLog();
  if (log.length === 0) {
    root.append(h('p', { id: 'egress-log-empty' }, 'Nothing has been sent from this device yet.'));
    return;
  }
  const items = [...log].reverse().map((p) =>
    h(
      'li',
      { class: 'egress-entry', 'data-outcome': p.outcome },
      h(
        'p',
        {},
        `${new Date(p.at).toLocaleString()} — ${p.events.length} event(s) for ${p.purposes.join(', ')} to ${p.destination} `,
        `(${p.transport}, ${p.status ?? 'no answer'}, ${p.outcome})`,
      ),
      h(
        'ul',
        {},
        ...p.events.map((e) => h('li', {}, h('code', {}, `${e.name} ${JSON.stringify(e.props)}${e.pid ? ` id ${e.pid}` : ''}`))),
      ),
    ),
  );
  root.append(h('ol', { id: 'egress-log-list' }, ...items));
}

/** What the recommender keeps on this device (`attune:recs`), with the visitor's controls. */
function renderSignals(): void {
  const root = byId('rec-signals');
  clear(root);
  const recs = attune.recommendations;
  const { history, muted } = recs.signals();
  if (history.length === 0 && muted.length === 0) {
    root.append(h('p', { id: 'rec-signals-empty' }, 'Nothing: no product you looked at is remembered on this device.'));
    return;
  }
  const reset = h('button', { type: 'button', id: 'reset-interests', class: 'link-button' }, 'Forget what I looked at');
  reset.addEventListener('click', () => {
    recs.reset();
    renderSignals();
  });
  root.append(
    h('ul', { id: 'rec-signals-list' }, ...[...history].reverse().map((s) => h('li', {}, `${new Date(s.at).toLocaleString()} — ${s.kind} ${s.item}`))),
    reset,
  );
  for (const tag of muted) {
    const unmute = h('button', { type: 'button', class: 'link-button', 'data-tag': tag }, `Show “${tag}” again`);
    unmute.addEventListener('click', () => {
      recs.unmute(tag);
      renderSignals();
    });
    root.append(h('p', {}, `Hidden from recommendations: ${tag} `, unmute));
  }
}

renderManifest();
renderLog();
renderSignals();
attune.consent.onChange(() => {
  renderLog();
  renderSignals();
});
markReady(attune);
