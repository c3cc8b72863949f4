package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// FormToken is the form token of the session whose bearer token is tok:
// a hash of it, which a page of another origin cannot read or compute.
func FormToken(tok string) string {
	sum := sha256.Sum256([]byte("strongroom web form\x00" + tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// session is a signed-in caller.
type session struct {
	p     *service.Principal
	token string
	csrf  string // the form token of the session's pages
	user  service.AccountView
}

// session returns the caller the cookie signs in, or nil without one (or
// with one that is not a live session). It fails only when sessions
// cannot be checked now (KindUnavailable), which is no reason to forget
// the cookie.
func (a *App) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	p, err := a.svc.Authenticate(c.Value)
	if err != nil {
		if strongroom.IsKind(err, strongroom.KindUnavailable) {
			return nil, err
		}
		return nil, nil
	}
	user, err := a.svc.Account(r.Context(), p)
	if err != nil {
		if strongroom.IsKind(err, strongroom.KindUnauthorized) {
			return nil, nil
		}
		return nil, err
	}
	return &session{p: p, token: c.Value, csrf: FormToken(c.Value), user: user}, nil
}

func setSession(w http.ResponseWriter, tok string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
}

func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// startSession ends the session the browser had, if any, and gives it
// tok's: signing in again, or as another user, leaves no older token
// live that the browser no longer holds.
func (a *App) startSession(w http.ResponseWriter, r *http.Request, tok string) {
	if old, err := a.session(r); err == nil && old != nil {
		if err := a.svc.Logout(r.Context(), old.p); err != nil {
			a.log.WarnContext(r.Context(), "web sign-in: the previous session was not ended", "err", err.Error())
		}
	}
	setSession(w, tok)
	http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
}

// signedInHandler is a page or form for a signed-in caller.
type signedInHandler func(w http.ResponseWriter, r *http.Request, s *session)

// signedIn sends a caller without a session to the login page.
func (a *App) signedIn(h signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := a.session(r)
		if err != nil {
			status, msg := a.message(r.Context(), err)
			a.render(w, r, status, "error", view{Title: "Try again shortly", Error: msg})
			return
		}
		if s == nil {
			// Forget a cookie that is no session (any more), but only one
			// the browser sent: a navigation another site starts comes
			// without the cookie (SameSite=Strict), and clearing it then
			// would let any site sign its user out, leaving the session
			// live with no browser to end it.
			if _, err := r.Cookie(CookieName); err == nil {
				clearSession(w)
			}
			http.Redirect(w, r, Path+"/login", http.StatusSeeOther)
			return
		}
		h(w, r, s)
	}
}

// signedInForm is signedIn for a form, which must carry the session's
// form token.
func (a *App) signedInForm(h signedInHandler) http.HandlerFunc {
	return a.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			a.render(w, r, http.StatusForbidden, "error", view{Title: "Refused", User: s.user, CSRF: s.csrf,
				Error: "This form is out of date or was not sent from this app; go back, reload the page and try again."})
			return
		}
		h(w, r, s)
	})
}
