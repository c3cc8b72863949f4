package web

import (
	"net/http"

	"github.com/strongroom/strongroom"
)

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	if s, _ := a.session(r); s != nil {
		http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Path+"/login", http.StatusSeeOther)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in"})
}

func (a *App) registerPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "register", view{Title: "Create an account"})
}

func (a *App) register(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	err := a.svc.Register(r.Context(), strongroom.Client(r.Context()), f.Get("username"), f.Get("email"), f.Get("password"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "register", view{Title: "Create an account", Error: msg,
			Fields: map[string]string{"username": f.Get("username"), "email": f.Get("email")}})
		return
	}
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Notice: "Your account is ready: sign in.",
		Fields: map[string]string{"username": f.Get("username")}})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	res, err := a.svc.Login(r.Context(), strongroom.Client(r.Context()), f.Get("username"), f.Get("password"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "login", view{Title: "Sign in", Error: msg, Fields: map[string]string{"username": f.Get("username")}})
		return
	}
	if res.TwoFactorRequired {
		notice := "Enter the code from your authenticator app, or a recovery code."
		if res.CodeMailed {
			notice = "We mailed you a code: enter it here."
		}
		a.render(w, r, http.StatusOK, "code", view{Title: "Second step", Notice: notice,
			Fields: map[string]string{"username": f.Get("username"), "challenge": res.Challenge}})
		return
	}
	a.startSession(w, r, res.Token)
}

func (a *App) loginCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	tok, err := a.svc.VerifyOTP(r.Context(), nil, strongroom.Client(r.Context()), f.Get("username"), f.Get("challenge"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "code", view{Title: "Second step", Error: msg,
			Fields: map[string]string{"username": f.Get("username"), "challenge": f.Get("challenge")}})
		return
	}
	a.startSession(w, r, tok)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := a.svc.Logout(r.Context(), s.p); err != nil {
		// Not signed out: the token is still live, and the page must not
		// say otherwise; the cookie stays, for another try.
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "error", view{Title: "Not signed out", User: s.user, CSRF: s.csrf,
			Error: "We could not sign you out (" + msg + "); try again."})
		return
	}
	clearSession(w)
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Notice: "You are signed out."})
}
