import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session } from './api.js';
import { Accounts } from './pages/accounts.js';
import { Keys } from './pages/keys.js';
import { Channels, ModelGroups, Notifications, Pricing } from './pages/more.js';
import { Overview } from './pages/overview.js';
import './style.css';

const pages = {
  overview: ['Overview', Overview],
  keys: ['Keys', Keys],
  accounts: ['Accounts', Accounts],
  models: ['Model groups', ModelGroups],
  pricing: ['Pricing', Pricing],
  channels: ['IM channels', Channels],
  notifications: ['Notifications', Notifications],
};

const current = () => (location.hash.replace(/^#\/?/, '') in pages ? location.hash.replace(/^#\/?/, '') : 'overview');

function SignIn({ onSignedIn }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    const key = new FormData(event.currentTarget).get('key').trim();
    setError(null);
    try {
      await api('keys', { key }); // any admin read proves the key
      session.signIn(key);
      onSignedIn();
    } catch (e) {
      setError(e.status === 401 ? 'That admin key was refused.' : e.message);
    }
  };
  return html`<main class="signin">
    <form class="panel" onSubmit=${submit}>
      <h1>Serverless LLM Relay</h1>
      <label>Admin key <input name="key" type="password" autocomplete="off" required autofocus /></label>
      <button type="submit">Sign in</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
  </main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(session.key));
  const [page, setPage] = useState(current());
  useEffect(() => {
    const follow = () => setPage(current());
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  if (!signedIn) {
    return html`<${SignIn} onSignedIn=${() => setSignedIn(true)} />`;
  }
  const [, Page] = pages[page];
  return html`<div class="shell">
    <nav>
      <strong>LLM Relay</strong>
      ${Object.entries(pages).map(([id, [title]]) => html`<a href=${`#/${id}`} class=${id === page ? 'on' : ''}>${title}</a>`)}
      <button class="quiet" onClick=${() => { session.signOut(); setSignedIn(false); }}>Sign out</button>
    </nav>
    <main><${Page} /></main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
