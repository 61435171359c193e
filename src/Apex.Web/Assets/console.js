// Keyboard voting on the arena page: A, B, T (tie) and N (both bad) press the matching button, unless
// the focus is in a text field. Everything else on the console works without script.
document.addEventListener('keydown', (event) => {
  const form = document.querySelector('form[data-vote]');
  if (!form || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  const button = form.querySelector(`button[data-key="${event.key.toLowerCase()}"]`);
  if (button) {
    event.preventDefault();
    button.click();
  }
});

// Live parts of a page (the overview's latest signals and serving model): the page follows the signal
// stream it names, and on each event fetches itself again and swaps in those parts as the server renders
// them. Without script, the page shows them as they were when it loaded.
const stream = document.querySelector('[data-live-stream]');
if (stream && 'EventSource' in window) {
  let refreshing = null;
  const refresh = async () => {
    const response = await fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
    for (const part of document.querySelectorAll('[data-live-part]')) {
      const replacement = fresh.querySelector(`[data-live-part="${part.dataset.livePart}"]`);
      if (replacement) part.innerHTML = replacement.innerHTML;
    }
  };
  const url = new URL(stream.dataset.liveStream, window.location.href);
  const source = new EventSource(url);
  // The types the page asked the stream for (named events reach only their own listeners).
  for (const type of url.searchParams.get('types').split(',')) {
    source.addEventListener(type, () => {
      // Events in a burst cost one fetch: the next one waits for the last.
      refreshing = (refreshing ?? Promise.resolve()).then(refresh).catch(() => {}).finally(() => { refreshing = null; });
    });
  }
}
