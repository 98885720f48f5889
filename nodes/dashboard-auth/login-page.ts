/**
 * The dashboard's sign-in page (`<admin root>porchlight/dashboard/login`).
 * It signs in with Node-RED's own login: the editor's token when this browser
 * is signed in to the editor (Node-RED keeps it in localStorage, key
 * `auth-tokens` plus the editor's path), else the editor's user name and
 * password (adminAuth type "credentials": the same `auth/token` request the
 * editor makes). It hands the token to `porchlight/dashboard/session`, which
 * keeps it in an HttpOnly cookie, and goes back to the dashboard page asked for.
 * With a sign-in strategy (OAuth and the like), sign in to the editor first.
 */
export function loginPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Porchlight: sign in</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f4f6; color: #263238; margin: 0; }
  main { max-width: 380px; margin: 10vh auto; background: #fff; border: 1px solid #d9d9e0; border-radius: 6px; padding: 24px; }
  h1 { font-size: 1.3em; margin: 0 0 12px; color: #ef6c00; }
  label { display: block; margin: 10px 0 4px; font-size: 0.9em; }
  input { width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #b0bec5; border-radius: 4px; font-size: 1em; }
  button { margin-top: 16px; width: 100%; padding: 10px; border: 0; border-radius: 4px; background: #ef6c00; color: #fff; font-size: 1em; cursor: pointer; }
  #message { min-height: 1.2em; font-size: 0.9em; }
  .error { color: #b00020; }
</style>
</head>
<body>
<main>
  <h1>Porchlight dashboard</h1>
  <p id="message">Checking whether you are signed in...</p>
  <form id="credentials" hidden>
    <label for="username">Node-RED user name</label>
    <input id="username" name="username" autocomplete="username" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>
  <p id="strategy" hidden>This Node-RED signs in through the editor: <a id="editor-link" href="../../">open the editor</a>, sign in there, then reload this page.</p>
</main>
<script>
(function () {
  'use strict';
  var adminRoot = location.pathname.replace(/porchlight\\/dashboard\\/login\\/?$/, '');
  var asked = new URLSearchParams(location.search).get('return') || '';
  // Only a path on this server: never an open redirect.
  var back = /^\\/(?![\\/\\\\])/.test(asked) ? asked : '/dashboard/';
  var message = document.getElementById('message');
  var form = document.getElementById('credentials');
  function say(text, error) {
    message.textContent = text;
    message.className = error ? 'error' : '';
  }
  function startSession(token, expiresIn) {
    return fetch(adminRoot + 'porchlight/dashboard/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ expiresIn: expiresIn || undefined })
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status === 401 ? 'this user may not read the doorbell (porchlight.read)' : 'the server answered ' + response.status);
      location.replace(back);
    });
  }
  function editorToken() {
    try {
      var suffix = adminRoot.slice(0, -1).replace(/\\//g, '-');
      var stored = JSON.parse(localStorage.getItem('auth-tokens' + suffix) || 'null');
      return stored && stored.access_token ? stored : null;
    } catch (err) {
      return null;
    }
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    say('Signing in...');
    var body = new URLSearchParams({
      client_id: 'node-red-editor',
      grant_type: 'password',
      scope: '',
      username: document.getElementById('username').value,
      password: document.getElementById('password').value
    });
    fetch(adminRoot + 'auth/token', { method: 'POST', body: body }).then(function (response) {
      if (!response.ok) throw new Error('wrong user name or password');
      return response.json();
    }).then(function (tokens) {
      return startSession(tokens.access_token, tokens.expires_in);
    }).catch(function (err) {
      say('Not signed in: ' + err.message, true);
    });
  });
  fetch(adminRoot + 'auth/login').then(function (response) { return response.json(); }).then(function (login) {
    if (!login || !login.type) {
      say('This Node-RED has no adminAuth: the dashboard is open to anyone who can reach it, without signing in.');
      return;
    }
    var shown = function () {
      if (login.type === 'credentials') {
        say('Sign in with your Node-RED user.');
        form.hidden = false;
        document.getElementById('username').focus();
      } else {
        say('Not signed in.');
        document.getElementById('editor-link').href = adminRoot;
        document.getElementById('strategy').hidden = false;
      }
    };
    var editor = editorToken();
    if (!editor) return shown();
    say('Signing in with the editor\\'s login...');
    startSession(editor.access_token, editor.expires_in).catch(function () { shown(); });
  }).catch(function (err) {
    say('Cannot reach Node-RED: ' + err.message, true);
  });
})();
</script>
</body>
</html>
`;
}
