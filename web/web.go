// Package web is the web app for the people whose data Strongroom keeps,
// served by the server itself under /app: pages rendered on the server
// from the templates and stylesheet embedded here, and one small script
// of its own for passkeys (WebAuthn is a browser API: it cannot be done
// by a form alone); every other page works without script.
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
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// Path is where the app is served.
const Path = "/app"

// CookieName is the session cookie's name.
const CookieName = "__Host-strongroom"

// CSP is the policy of every page: this origin's stylesheet, images and
// one script (passkey.js, which may fetch from this origin only), no
// inline script or style, forms to this origin only, and no framing.
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var (
	//go:embed pages.html
	pagesHTML string
	//go:embed app.css
	appCSS []byte
	//go:embed passkey.js
	passkeyJS []byte

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
	// Every answer under Path is a page, with the pages' headers: a path
	// or method no route below serves included (noRoute), which the
	// routes, kept in a mux of their own too, tell apart.
	routes := http.NewServeMux()
	srv.Handle(Path+"/", a.noRoute(routes))
	srv.Handle(Path, a.noRoute(routes))
	srv = recorder{Mux: srv, routes: routes}
	srv.Handle("GET /{$}", http.RedirectHandler(Path+"/", http.StatusSeeOther))
	srv.Handle("GET "+Path+"/{$}", http.HandlerFunc(a.home))
	srv.Handle("GET "+Path+"/app.css", http.HandlerFunc(a.css))
	srv.Handle("GET "+Path+"/login", http.HandlerFunc(a.loginPage))
	srv.Handle("POST "+Path+"/login", a.form(a.login))
	srv.Handle("POST "+Path+"/login/code", a.form(a.loginCode))
	srv.Handle("GET "+Path+"/register", http.HandlerFunc(a.registerPage))
	srv.Handle("POST "+Path+"/register", a.form(a.register))
	srv.Handle("GET "+Path+"/records", http.HandlerFunc(a.signedIn(a.records)))
	srv.Handle("POST "+Path+"/records", a.form(a.signedInForm(a.addRecord)))
	srv.Handle("POST "+Path+"/records/{id}/show", a.form(a.signedInForm(a.showRecord)))
	srv.Handle("POST "+Path+"/records/{id}/delete", a.form(a.signedInForm(a.deleteRecord)))
	srv.Handle("GET "+Path+"/records/{id}/edit", http.HandlerFunc(a.signedIn(a.editPage)))
	srv.Handle("POST "+Path+"/records/{id}/edit", a.form(a.signedInForm(a.editRecord)))
	srv.Handle("POST "+Path+"/logout", a.form(a.signedInForm(a.logout)))
	srv.Handle("GET "+Path+"/2fa", http.HandlerFunc(a.signedIn(a.twoFactorPage)))
	srv.Handle("POST "+Path+"/2fa/setup", a.form(a.signedInForm(a.setupTOTP)))
	srv.Handle("GET "+Path+"/2fa/qr/{setup}", http.HandlerFunc(a.signedIn(a.totpQR)))
	srv.Handle("POST "+Path+"/2fa/confirm", a.form(a.signedInForm(a.confirmTOTP)))
	srv.Handle("POST "+Path+"/2fa/recovery-codes", a.form(a.signedInForm(a.newRecoveryCodes)))
	srv.Handle("POST "+Path+"/2fa/off", a.form(a.signedInForm(a.twoFactorOff)))
	srv.Handle("GET "+Path+"/account", http.HandlerFunc(a.signedIn(a.accountPage)))
	srv.Handle("POST "+Path+"/sessions/{id}/end", a.form(a.signedInForm(a.endSession)))
	srv.Handle("POST "+Path+"/password", a.form(a.signedInForm(a.changePassword)))
	srv.Handle("POST "+Path+"/account/delete", a.form(a.signedInForm(a.deleteAccount)))
	srv.Handle("POST "+Path+"/mail-code", a.form(a.signedInForm(a.mailCode)))
	srv.Handle("GET "+Path+"/passkey.js", http.HandlerFunc(a.script))
	srv.Handle("POST "+Path+"/login/passkey/options", a.form(a.passkeyLoginOptions))
	srv.Handle("POST "+Path+"/login/passkey", a.form(a.passkeyLogin))
	srv.Handle("GET "+Path+"/passkeys", http.HandlerFunc(a.signedIn(a.passkeysPage)))
	srv.Handle("POST "+Path+"/passkeys/options", a.form(a.signedInForm(a.passkeyOptions)))
	srv.Handle("POST "+Path+"/passkeys", a.form(a.signedInForm(a.addPasskey)))
	srv.Handle("POST "+Path+"/passkeys/{id}/delete", a.form(a.signedInForm(a.removePasskey)))
}

// recorder is a Mux that also keeps each route in routes, and gives
// every answer of each the pages' headers, redirects included.
type recorder struct {
	Mux
	routes *http.ServeMux
}

func (m recorder) Handle(pattern string, h http.Handler) {
	m.Mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		h.ServeHTTP(w, r)
	}))
	m.routes.Handle(pattern, h)
}

// noRoute answers a request under Path that no route serves with a page
// (the API's answer would be problem+json, without the pages' headers):
// 405 with Allow if routes serve its path with other methods, else 404.
// Path itself goes to Path/.
func (a *App) noRoute(routes *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := routes.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		switch {
		case r.URL.Path == Path && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			headers(w)
			http.Redirect(w, r, Path+"/", http.StatusSeeOther)
		case len(allow) > 0:
			w.Header().Set("Allow", strings.Join(allow, ", "))
			a.render(w, r, http.StatusMethodNotAllowed, "error", view{Title: "Not allowed",
				Error: "This page does not take that kind of request."})
		default:
			a.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Error: "There is no such page."})
		}
	})
}

// view is what a page shows.
type view struct {
	Title   string
	Error   string
	Notice  string
	CSRF    string              // the form token of a signed-in page
	User    service.AccountView // the signed-in user; Username "" when signed out
	Fields  map[string]string
	Records []service.RecordSummary
	Shown   *service.RecordView
	// The edit page: the record whose value it replaces (never read).
	Editing *service.RecordSummary
	Setup   *service.TOTPSetup // an authenticator setup under way
	Codes   []string           // recovery codes, shown once
	// The account page: the live sessions and the latest security events.
	Sessions []service.SessionView
	Events   []*strongroom.AuditEvent
	Passkeys []service.PasskeyView
	Page     string // the page's name, set by render: where a mailed code's form comes back to
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
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(appCSS)
}

// render writes the named page with status.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Page = name
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		a.log.ErrorContext(r.Context(), "web page", "page", name, "err", err.Error())
	}
}

// result shows page name (view v) after a form: err's message and
// status, or notice.
func (a *App) result(w http.ResponseWriter, r *http.Request, name string, v view, err error, notice string) {
	status := http.StatusOK
	if err != nil {
		status, v.Error = a.message(r.Context(), err)
	} else {
		v.Notice = notice
	}
	a.render(w, r, status, name, v)
}

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
		return err == nil && u.Host == r.Host && schemeFits(r, u.Scheme)
	}
	return true
}

// schemeFits reports whether an Origin of scheme may be r's own origin:
// https over TLS. A request without TLS is plain http, or came through a
// proxy that ended TLS; the server learns no proxy's scheme
// (X-Forwarded-Proto is not read anywhere, and STRONGROOM_TRUSTED_PROXIES
// only says whose X-Forwarded-For names the client), so either http or
// https fits it. (A page of the same host over the other scheme is the
// same site, not the same origin; browsers that send Sec-Fetch-Site say so,
// and are refused above.)
func schemeFits(r *http.Request, scheme string) bool {
	if r.TLS != nil {
		return scheme == "https"
	}
	return scheme == "http" || scheme == "https"
}

// message is what a page says of err: the service's message for the
// user's mistakes and refusals, a generic one (and a log line) for ours.
func (a *App) message(ctx context.Context, err error) (int, string) {
	var e *strongroom.Error
	if !errors.As(err, &e) || e.Kind == strongroom.KindInternal {
		a.log.ErrorContext(ctx, "web request failed", "err", err.Error())
		return http.StatusInternalServerError, "Something went wrong on our side; try again."
	}
	if e.Kind == strongroom.KindLocked {
		return e.Kind.HTTPStatus(), e.Message + " (try again in " + e.RetryAfter.Round(time.Second).String() + ")"
	}
	return e.Kind.HTTPStatus(), e.Message
}

// fail is message without the status, for a page that still shows.
func (a *App) fail(ctx context.Context, err error) string {
	_, msg := a.message(ctx, err)
	return msg
}
