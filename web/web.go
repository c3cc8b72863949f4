// Package web is the web app for the people whose data Strongroom keeps,
// served by the server itself under /app: pages rendered on the server
// from the templates and stylesheet embedded here, with no script at all,
// so the strictest Content-Security-Policy holds.
//
// The browser's session is the API's bearer token in a cookie that
// script cannot read (HttpOnly), sent only over HTTPS or to a loopback
// address (Secure, the __Host- prefix: this host only, path /), and never
// with a request another site starts (SameSite=Strict). Every form that
// changes something carries a token derived from the session (a hash of
// the bearer token, which no other page can learn), and every POST whose
// browser says it came from another origin (Sec-Fetch-Site, Origin) is
// refused before anything is done.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// Path is where the app is served.
const Path = "/app"

// CookieName is the session cookie's name.
const CookieName = "__Host-strongroom"

// CSP is the policy of every page: this origin's stylesheet and images,
// no script, forms to this origin only, and no framing.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

var (
	//go:embed pages.html
	pagesHTML string
	//go:embed app.css
	appCSS []byte

	pages = template.Must(template.New("pages").Parse(pagesHTML))
)

// App serves the pages.
type App struct {
	svc *service.Service
	log *slog.Logger
}

// Mux is where the routes go: the API's server (api.Server.Handle), whose
// common protections (request ids, body limits, client addresses in the
// context) every page then has.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the app's routes to srv, and / as a way to it.
func Register(srv Mux, svc *service.Service, log *slog.Logger) {
	a := &App{svc: svc, log: log}
	srv.Handle("GET /{$}", http.RedirectHandler(Path+"/", http.StatusSeeOther))
	srv.Handle("GET "+Path+"/{$}", a.page(a.home))
	srv.Handle("GET "+Path+"/app.css", http.HandlerFunc(a.css))
	srv.Handle("GET "+Path+"/login", a.page(a.loginPage))
	srv.Handle("POST "+Path+"/login", a.form(a.login))
	srv.Handle("POST "+Path+"/login/code", a.form(a.loginCode))
	srv.Handle("GET "+Path+"/register", a.page(a.registerPage))
	srv.Handle("POST "+Path+"/register", a.form(a.register))
	srv.Handle("GET "+Path+"/records", a.page(a.signedIn(a.records)))
	srv.Handle("POST "+Path+"/records", a.form(a.signedInForm(a.addRecord)))
	srv.Handle("POST "+Path+"/records/{id}/show", a.form(a.signedInForm(a.showRecord)))
	srv.Handle("POST "+Path+"/records/{id}/delete", a.form(a.signedInForm(a.deleteRecord)))
	srv.Handle("POST "+Path+"/logout", a.form(a.signedInForm(a.logout)))
	srv.Handle("GET "+Path+"/2fa", a.page(a.signedIn(a.twoFactorPage)))
	srv.Handle("POST "+Path+"/2fa/setup", a.form(a.signedInForm(a.setupTOTP)))
	srv.Handle("GET "+Path+"/2fa/qr/{setup}", a.page(a.signedIn(a.totpQR)))
	srv.Handle("POST "+Path+"/2fa/confirm", a.form(a.signedInForm(a.confirmTOTP)))
	srv.Handle("POST "+Path+"/2fa/recovery-codes", a.form(a.signedInForm(a.newRecoveryCodes)))
	srv.Handle("POST "+Path+"/2fa/off", a.form(a.signedInForm(a.twoFactorOff)))
	srv.Handle("GET "+Path+"/account", a.page(a.signedIn(a.accountPage)))
	srv.Handle("POST "+Path+"/sessions/{id}/end", a.form(a.signedInForm(a.endSession)))
	srv.Handle("POST "+Path+"/password", a.form(a.signedInForm(a.changePassword)))
	srv.Handle("POST "+Path+"/account/delete", a.form(a.signedInForm(a.deleteAccount)))
}

// view is what a page shows.
type view struct {
	Title   string
	Error   string
	Notice  string
	CSRF    string // the form token of a signed-in page
	User    string // the signed-in user's name; "" when signed out
	Fields  map[string]string
	Records []service.RecordSummary
	Shown   *service.RecordView
	Setup   *service.TOTPSetup // an authenticator setup under way
	Codes   []string           // recovery codes, shown once
	// The account page: the live sessions and the latest security events.
	Sessions []service.SessionView
	Events   []*strongroom.AuditEvent
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Referrer-Policy", "same-origin")
}

func (a *App) css(w http.ResponseWriter, _ *http.Request) {
	headers(w)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(appCSS)
}

// render writes the named page with status.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		a.log.ErrorContext(r.Context(), "web page", "page", name, "err", err.Error())
	}
}

func (a *App) page(h http.HandlerFunc) http.Handler { return h }

// form refuses a POST that its browser says another site started, and
// one whose form does not parse, before h sees it.
func (a *App) form(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) {
			a.render(w, r, http.StatusForbidden, "error", view{Title: "Refused",
				Error: "This form was sent from another site, so it was refused."})
			return
		}
		if err := r.ParseForm(); err != nil || !validUTF8(r.PostForm) {
			a.render(w, r, http.StatusBadRequest, "error", view{Title: "Bad request", Error: "The form could not be read."})
			return
		}
		h(w, r)
	})
}

// validUTF8 reports whether every value of f is UTF-8, as the JSON API's
// bodies must be: what is stored is what is read back.
func validUTF8(f url.Values) bool {
	for _, vs := range f {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

// sameOrigin reports whether nothing in r says it came from another
// origin. Browsers send Sec-Fetch-Site with every request, and it is the
// answer when there; older ones send Origin with every POST (which the
// pages' Referrer-Policy, same-origin, keeps from being "null"); a client
// that sends neither is not a browser another site can drive.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

// FormToken is the form token of the session whose bearer token is tok:
// a hash of it, which a page of another origin cannot read or compute.
func FormToken(tok string) string {
	sum := sha256.Sum256([]byte("strongroom web form\x00" + tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// session is a signed-in caller.
type session struct {
	p        *service.Principal
	token    string
	csrf     string // the form token of the session's pages
	username string
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
	name, err := a.svc.Username(r.Context(), p)
	if err != nil {
		if strongroom.IsKind(err, strongroom.KindUnauthorized) {
			return nil, nil
		}
		return nil, err
	}
	return &session{p: p, token: c.Value, csrf: FormToken(c.Value), username: name}, nil
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
			a.render(w, r, http.StatusForbidden, "error", view{Title: "Refused", User: s.username, CSRF: s.csrf,
				Error: "This form is out of date or was not sent from this app; go back, reload the page and try again."})
			return
		}
		h(w, r, s)
	})
}

// message is what a page says of err: the service's message for the
// user's mistakes and refusals, a generic one (and a log line) for ours.
func (a *App) message(ctx context.Context, err error) (int, string) {
	var e *strongroom.Error
	if !errors.As(err, &e) || e.Kind == strongroom.KindInternal {
		a.log.ErrorContext(ctx, "web request failed", "err", err.Error())
		return http.StatusInternalServerError, "Something went wrong on our side; try again."
	}
	switch e.Kind {
	case strongroom.KindInvalid:
		return http.StatusBadRequest, e.Message
	case strongroom.KindUnauthorized:
		return http.StatusUnauthorized, e.Message
	case strongroom.KindNotFound:
		return http.StatusNotFound, e.Message
	case strongroom.KindConflict:
		return http.StatusConflict, e.Message
	case strongroom.KindLocked:
		return http.StatusTooManyRequests, e.Message + " (try again in " + e.RetryAfter.Round(time.Second).String() + ")"
	case strongroom.KindUnavailable:
		return http.StatusServiceUnavailable, e.Message
	}
	return http.StatusBadRequest, e.Message
}

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

// recordsView is the records page's view, with the list read afresh.
func (a *App) recordsView(ctx context.Context, s *session) (view, error) {
	rs, err := a.svc.RecordSummaries(ctx, s.p, service.MaxPageSize)
	return view{Title: "Your records", User: s.username, CSRF: s.csrf, Records: rs}, err
}

func (a *App) records(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := a.recordsView(r.Context(), s)
	if err != nil {
		v.Error = a.fail(r.Context(), err)
	}
	a.render(w, r, http.StatusOK, "records", v)
}

// fail is message without the status, for a page that still shows.
func (a *App) fail(ctx context.Context, err error) string {
	_, msg := a.message(ctx, err)
	return msg
}

func (a *App) addRecord(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	if _, err := a.svc.CreateRecord(r.Context(), s.p, f.Get("data_type"), f.Get("value")); err != nil {
		status, msg := a.message(r.Context(), err)
		v, _ := a.recordsView(r.Context(), s)
		v.Error, v.Fields = msg, map[string]string{"data_type": f.Get("data_type")}
		a.render(w, r, status, "records", v)
		return
	}
	http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
}

func (a *App) showRecord(w http.ResponseWriter, r *http.Request, s *session) {
	rec, err := a.svc.Record(r.Context(), s.p, r.PathValue("id"))
	v, lerr := a.recordsView(r.Context(), s)
	status := http.StatusOK
	switch {
	case err != nil:
		status, v.Error = a.message(r.Context(), err)
	case lerr != nil:
		v.Error = a.fail(r.Context(), lerr)
	default:
		v.Shown = &rec
	}
	a.render(w, r, status, "records", v)
}

func (a *App) deleteRecord(w http.ResponseWriter, r *http.Request, s *session) {
	if err := a.svc.DeleteRecord(r.Context(), s.p, r.PathValue("id")); err != nil {
		status, msg := a.message(r.Context(), err)
		v, _ := a.recordsView(r.Context(), s)
		v.Error = msg
		a.render(w, r, status, "records", v)
		return
	}
	http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := a.svc.Logout(r.Context(), s.p); err != nil {
		// Not signed out: the token is still live, and the page must not
		// say otherwise; the cookie stays, for another try.
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "error", view{Title: "Not signed out", User: s.username, CSRF: s.csrf,
			Error: "We could not sign you out (" + msg + "); try again."})
		return
	}
	clearSession(w)
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Notice: "You are signed out."})
}

func (a *App) twoFactorPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.render(w, r, http.StatusOK, "2fa", view{Title: "Two-factor authentication", User: s.username, CSRF: s.csrf})
}

// setupTOTP starts an authenticator setup: it takes the password, and a
// current second factor when one is on, as the API does.
func (a *App) setupTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	setup, err := a.svc.SetupTOTP(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "2fa", view{Title: "Two-factor authentication", User: s.username, CSRF: s.csrf, Error: msg})
		return
	}
	a.render(w, r, http.StatusOK, "2fa-setup", view{Title: "Set up your authenticator app", User: s.username, CSRF: s.csrf, Setup: &setup})
}

// totpQR is the QR code of a setup under way, for the setup page's image.
func (a *App) totpQR(w http.ResponseWriter, r *http.Request, s *session) {
	png, err := a.svc.TOTPQRCode(r.Context(), s.p, r.PathValue("setup"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "error", view{Title: "No QR code", User: s.username, CSRF: s.csrf, Error: msg})
		return
	}
	headers(w)
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(png)
}

func (a *App) confirmTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	codes, err := a.svc.ConfirmTOTP(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("setup"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "2fa-setup", view{Title: "Set up your authenticator app", User: s.username, CSRF: s.csrf, Error: msg,
			Setup: &service.TOTPSetup{ID: f.Get("setup")}})
		return
	}
	a.render(w, r, http.StatusOK, "2fa-codes", view{Title: "Two-factor authentication is on", User: s.username, CSRF: s.csrf, Codes: codes})
}

// activityShown is how many of the latest security events the account
// page shows.
const activityShown = 20

// accountView is the account page's view: sessions and activity read
// afresh.
func (a *App) accountView(ctx context.Context, s *session) view {
	v := view{Title: "Your account", User: s.username, CSRF: s.csrf}
	var err error
	if v.Sessions, err = a.svc.Sessions(ctx, s.p); err != nil {
		v.Error = a.fail(ctx, err)
	}
	page, err := a.svc.MyAuditEvents(ctx, s.p, "", activityShown)
	if err != nil {
		v.Error = a.fail(ctx, err)
	}
	v.Events = page.Events
	return v
}

func (a *App) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.render(w, r, http.StatusOK, "account", a.accountView(r.Context(), s))
}

// accountResult shows the account page after a form: err's message, or
// notice.
func (a *App) accountResult(w http.ResponseWriter, r *http.Request, s *session, err error, notice string) {
	status := http.StatusOK
	v := a.accountView(r.Context(), s)
	if err != nil {
		status, v.Error = a.message(r.Context(), err)
	} else {
		v.Notice = notice
	}
	a.render(w, r, status, "account", v)
}

func (a *App) endSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if id == s.p.TokenID { // this browser's own: that is signing out
		a.logout(w, r, s)
		return
	}
	a.accountResult(w, r, s, a.svc.EndSession(r.Context(), s.p, id), "That session is ended.")
}

func (a *App) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	err := a.svc.ChangePassword(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("current"), f.Get("new"), f.Get("code"))
	a.accountResult(w, r, s, err, "Your password is changed.")
}

func (a *App) deleteAccount(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	if _, err := a.svc.DeleteAccount(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code")); err != nil {
		a.accountResult(w, r, s, err, "")
		return
	}
	clearSession(w)
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Notice: "Your account and its records are deleted."})
}

// newRecoveryCodes replaces the recovery codes (password and a current
// second factor), showing the new ones once.
func (a *App) newRecoveryCodes(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	codes, err := a.svc.RegenerateRecoveryCodes(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "2fa", view{Title: "Two-factor authentication", User: s.username, CSRF: s.csrf, Error: msg})
		return
	}
	a.render(w, r, http.StatusOK, "2fa-codes", view{Title: "New recovery codes", User: s.username, CSRF: s.csrf, Codes: codes})
}

// twoFactorOff turns every second factor off (password and a current
// second factor).
func (a *App) twoFactorOff(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	v := view{Title: "Two-factor authentication", User: s.username, CSRF: s.csrf}
	status := http.StatusOK
	if err := a.svc.DisableTwoFactor(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code")); err != nil {
		status, v.Error = a.message(r.Context(), err)
	} else {
		v.Notice = "Two-factor authentication is off: signing in takes your password only."
	}
	a.render(w, r, status, "2fa", v)
}
