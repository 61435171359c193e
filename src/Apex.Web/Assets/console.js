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
