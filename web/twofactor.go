package web

import (
	"net/http"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

func (a *App) twoFactorPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.render(w, r, http.StatusOK, "2fa", view{Title: "Two-factor authentication", User: s.user, CSRF: s.csrf})
}

// setupTOTP starts an authenticator setup: it takes the password, and a
// current second factor when one is on, as the API does.
func (a *App) setupTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	setup, err := a.svc.SetupTOTP(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "2fa", view{Title: "Two-factor authentication", User: s.user, CSRF: s.csrf, Error: msg})
		return
	}
	a.render(w, r, http.StatusOK, "2fa-setup", view{Title: "Set up your authenticator app", User: s.user, CSRF: s.csrf, Setup: &setup})
}

// totpQR is the QR code of a setup under way, for the setup page's image.
func (a *App) totpQR(w http.ResponseWriter, r *http.Request, s *session) {
	png, err := a.svc.TOTPQRCode(r.Context(), s.p, r.PathValue("setup"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "error", view{Title: "No QR code", User: s.user, CSRF: s.csrf, Error: msg})
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(png)
}

func (a *App) confirmTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	codes, err := a.svc.ConfirmTOTP(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("setup"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "2fa-setup", view{Title: "Set up your authenticator app", User: s.user, CSRF: s.csrf, Error: msg,
			Setup: &service.TOTPSetup{ID: f.Get("setup")}})
		return
	}
	a.render(w, r, http.StatusOK, "2fa-codes", view{Title: "Two-factor authentication is on", User: s.user, CSRF: s.csrf, Codes: codes})
}

// newRecoveryCodes replaces the recovery codes (password and a current
// second factor), showing the new ones once.
func (a *App) newRecoveryCodes(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	codes, err := a.svc.RegenerateRecoveryCodes(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.render(w, r, status, "2fa", view{Title: "Two-factor authentication", User: s.user, CSRF: s.csrf, Error: msg})
		return
	}
	a.render(w, r, http.StatusOK, "2fa-codes", view{Title: "New recovery codes", User: s.user, CSRF: s.csrf, Codes: codes})
}

// twoFactorOff turns every second factor off (password and a current
// second factor).
func (a *App) twoFactorOff(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	err := a.svc.DisableTwoFactor(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code"))
	a.twoFactorResult(w, r, s, err, "Two-factor authentication is off: signing in takes your password only.")
}

// twoFactorResult shows the two-factor page after a form: err's message,
// or notice. The account is read again: the form may have changed its
// factors.
func (a *App) twoFactorResult(w http.ResponseWriter, r *http.Request, s *session, err error, notice string) {
	v := view{Title: "Two-factor authentication", User: s.user, CSRF: s.csrf}
	if err == nil {
		if user, err := a.svc.Account(r.Context(), s.p); err == nil {
			v.User = user
		}
	}
	a.result(w, r, "2fa", v, err, notice)
}

// mailCode mails the signed-in user a code for the forms that need a
// current second factor, and shows the page the button was on again.
func (a *App) mailCode(w http.ResponseWriter, r *http.Request, s *session) {
	err := a.svc.SendOTP(r.Context(), s.p, strongroom.Client(r.Context()), "", "")
	const notice = "We mailed you a code: it works once, for 5 minutes."
	switch r.PostForm.Get("page") {
	case "account":
		a.accountResult(w, r, s, err, notice)
	case "passkeys":
		a.passkeysResult(w, r, s, err, notice)
	default:
		a.twoFactorResult(w, r, s, err, notice)
	}
}
