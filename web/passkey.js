// Passkeys in Strongroom's web app: the app's one script, served from its
// own origin (the pages' Content-Security-Policy allows no other, and no
// inline script). It asks the server for WebAuthn options, has the
// browser make or use a passkey with them, and sends the answer in an
// ordinary form post. Without WebAuthn in the browser the passkey forms
// stay hidden, and everything else works without script.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function decode(s) {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function encode(buf) {
    let bin = "";
    for (const b of new Uint8Array(buf)) {
      bin += String.fromCharCode(b);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: decode(c.id) }); });
  }

  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    }
    return Object.assign({}, o, {
      challenge: decode(o.challenge),
      user: Object.assign({}, o.user, { id: decode(o.user.id) }),
      excludeCredentials: ids(o.excludeCredentials),
    });
  }

  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    }
    return Object.assign({}, o, { challenge: decode(o.challenge), allowCredentials: ids(o.allowCredentials) });
  }

  function credentialJSON(c) {
    if (c.toJSON) {
      return JSON.stringify(c.toJSON());
    }
    const r = c.response;
    const response = { clientDataJSON: encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = encode(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = encode(r.authenticatorData);
      response.signature = encode(r.signature);
      if (r.userHandle) {
        response.userHandle = encode(r.userHandle);
      }
    }
    return JSON.stringify({
      id: c.id, rawId: encode(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
      response: response, clientExtensionResults: c.getClientExtensionResults(),
    });
  }

  // options posts form's fields to url and returns the WebAuthn options
  // it answers, or throws the server's message.
  async function options(url, form) {
    const res = await fetch(url, {
      method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    let body = {};
    try {
      body = await res.json();
    } catch (e) {
      throw new Error("The server's answer could not be read: reload the page and try again.");
    }
    if (!res.ok) {
      throw new Error(body.error || "That did not work: reload the page and try again.");
    }
    return body.publicKey;
  }

  function say(form, err) {
    const p = form.querySelector(".passkey-error");
    let msg = err.message;
    if (err.name === "NotAllowedError") {
      msg = "The passkey request was cancelled or timed out.";
    } else if (err.name === "InvalidStateError") {
      msg = "This device holds a passkey of this account already.";
    }
    p.textContent = msg;
    p.hidden = false;
  }

  // ceremony makes form (hidden until now) start one: options from
  // optionsURL, the browser's answer into the form's credential field,
  // and then the form posted as usual.
  function ceremony(form, optionsURL, run) {
    if (!form) {
      return;
    }
    form.hidden = false;
    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const o = await options(optionsURL, form);
        const c = await run(o);
        form.elements.credential.value = credentialJSON(c);
        for (const el of form.querySelectorAll("input[type=password]")) {
          el.value = ""; // checked already; not sent twice
        }
        form.submit();
      } catch (err) {
        say(form, err);
        button.disabled = false;
      }
    });
  }

  ceremony(document.getElementById("passkey-login"), "/app/login/passkey/options", function (o) {
    return navigator.credentials.get({ publicKey: requestOptions(o) });
  });
  ceremony(document.getElementById("passkey-add"), "/app/passkeys/options", function (o) {
    return navigator.credentials.create({ publicKey: creationOptions(o) });
  });
})();
