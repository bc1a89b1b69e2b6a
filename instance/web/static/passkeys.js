// Passkeys: adds "Sign in with a passkey" to /login and "Add a passkey" to
// /app/passkeys. Without this script (or without WebAuthn) both stay hidden and the
// password form works as before.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, token, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body || {}),
    }).then(function (answer) {
      return answer.json().then(function (data) {
        if (!answer.ok) throw new Error(data.detail || "refused");
        return data;
      });
    });
  }
  function encoded(credential) {
    var r = credential.response, response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) response.attestationObject = toText(r.attestationObject);
    if (r.getTransports) response.transports = r.getTransports();
    if (r.authenticatorData) response.authenticatorData = toText(r.authenticatorData);
    if (r.signature) response.signature = toText(r.signature);
    if (r.userHandle) response.userHandle = toText(r.userHandle);
    return {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      response: response, clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  var signin = document.getElementById("passkey-signin");
  if (signin) {
    signin.hidden = false;
    var status = document.getElementById("passkey-status");
    document.getElementById("passkey-button").addEventListener("click", function () {
      var token = signin.dataset.csrf;
      status.textContent = "";
      post("/login/passkey/options", token).then(function (options) {
        options.challenge = toBytes(options.challenge);
        (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        return navigator.credentials.get({ publicKey: options });
      }).then(function (credential) {
        return post("/login/passkey", token, { credential: encoded(credential), next: signin.dataset.next });
      }).then(function (done) {
        window.location.assign(done.next);
      }).catch(function (error) {
        status.textContent = "Signing in with a passkey did not work: " + error.message;
      });
    });
  }

  var add = document.getElementById("passkey-add");
  if (add) {
    add.hidden = false;
    var said = document.getElementById("passkey-status");
    document.getElementById("passkey-register").addEventListener("click", function () {
      var token = add.dataset.csrf;
      said.textContent = "";
      post("/app/passkeys/options", token).then(function (options) {
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
        return navigator.credentials.create({ publicKey: options });
      }).then(function (credential) {
        var name = document.getElementById("passkey-name").value;
        return post("/app/passkeys/register", token, { credential: encoded(credential), name: name });
      }).then(function () {
        window.location.reload();
      }).catch(function (error) {
        said.textContent = "The passkey was not added: " + error.message;
      });
    });
  }
})();
