package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/strongroom/strongroom"
)

// The passkey pages. A ceremony takes two posts: the first (by the
// script, passkey.js) asks for WebAuthn options, answered as JSON; the
// second (an ordinary form post) carries the browser's answer.

func (a *App) script(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(passkeyJS)
}

// options writes WebAuthn options as JSON, or err's message as
// {"error": ...} with its status.
func (a *App) options(w http.ResponseWriter, r *http.Request, opts json.RawMessage, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status, msg := a.message(r.Context(), err)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	_, _ = w.Write(opts)
}

func (a *App) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	opts, err := a.svc.PasskeyLoginOptions(r.Context(), strongroom.Client(r.Context()))
	a.options(w, r, opts, err)
}

func (a *App) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	tok, err := a.svc.PasskeyLogin(r.Context(), strongroom.Client(r.Context()), []byte(r.PostForm.Get("credential")))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "login", view{Title: "Sign in", Error: msg})
		return
	}
	a.startSession(w, r, tok)
}

// passkeysView is the passkeys page's view, with the list read afresh.
func (a *App) passkeysView(ctx context.Context, s *session) view {
	v := view{Title: "Passkeys", User: s.user, CSRF: s.csrf}
	var err error
	if v.Passkeys, err = a.svc.Passkeys(ctx, s.p); err != nil {
		v.Error = a.fail(ctx, err)
	}
	return v
}

func (a *App) passkeysPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.render(w, r, http.StatusOK, "passkeys", a.passkeysView(r.Context(), s))
}

// passkeysResult shows the passkeys page after a form: err's message,
// or notice.
func (a *App) passkeysResult(w http.ResponseWriter, r *http.Request, s *session, err error, notice string) {
	a.result(w, r, "passkeys", a.passkeysView(r.Context(), s), err, notice)
}

func (a *App) passkeyOptions(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	opts, err := a.svc.PasskeyRegistrationOptions(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code"))
	a.options(w, r, opts, err)
}

func (a *App) addPasskey(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	pk, err := a.svc.FinishPasskeyRegistration(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("name"), []byte(f.Get("credential")))
	a.passkeysResult(w, r, s, err, "Passkey “"+pk.Name+"” added: it signs you in without your password.")
}

func (a *App) removePasskey(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	err := a.svc.DeletePasskey(r.Context(), s.p, strongroom.Client(r.Context()), r.PathValue("id"), f.Get("password"), f.Get("code"))
	a.passkeysResult(w, r, s, err, "The passkey is removed.")
}
